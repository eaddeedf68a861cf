#pragma once
#include <cstdint>

namespace genrt::ref {

// Which pairs of a head's features rotate together.
enum class RopeLayout : uint8_t {
  rotate_half,  // HF transformers: (x[i], x[i + d/2]) for i < d/2
  interleaved,  // llama2.c / Meta checkpoints: (x[2i], x[2i + 1])
};

// Rotates each head of x in place by angle position * inv_freq[i] for pair i.
// inv_freq carries the model's base (rope_theta) and any frequency scaling.
void rope(float* x,                 // [tokens, heads, head_dim]
          const int32_t* positions, // [tokens]
          const float* inv_freq,    // [head_dim / 2]
          int64_t tokens, int64_t heads, int64_t head_dim, RopeLayout layout);

}  // namespace genrt::ref
