#pragma once
// The fixed (not learned) position embedding of a DiT, computed on the host like diffusers does.

#include <cstdint>

namespace genrt {

// 2-D sin-cos position embedding [grid * grid, dim] of a square patch grid (diffusers'
// get_2d_sincos_pos_embed with base_size = grid): for the token at row r, column c, the
// first half encodes c and the second half r, each as sin then cos of pos * 10000^(-i/(dim/4)).
void sincos_2d_position_embedding(int64_t grid, int64_t dim, float* out);

}  // namespace genrt
