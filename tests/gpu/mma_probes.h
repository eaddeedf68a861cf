#pragma once
// One-warp launches of the kernels/mma.cuh wrappers on device buffers (tests/gpu/mma_probes.cu);
// each synchronizes and returns the first CUDA error.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::test {

// d[16x8] = 1 + a[16x16] * b[16x8], all row-major, through mma_m16n8k16<T> with fragments
// built from the documented layouts.
template <class T>
cudaError_t run_mma_probe(const T* a, const T* b, float* d);

// What each lane receives from ldmatrix_x4 (or _trans) of a row-major 16x16 b16 matrix
// addressed as an A operand: out[lane * 4 + i] is register i.
cudaError_t run_ldmatrix_probe(const uint16_t* matrix, bool trans, uint32_t* out);

// 64 bytes of src through cp_async_16, the 2nd and 4th 16-byte chunks marked invalid.
cudaError_t run_cp_async_probe(const void* src, void* out);

// The flash kernels' warp steps (kernels/flash_tile.cuh) on q [16 x 32], k and v [32 x 32]
// (row-major, T): s = q k^T [16 x 32] through compute_scores and o = s v [16 x 32] through
// accumulate_values (s rounded to T as the kernels round probabilities).
template <class T>
cudaError_t run_warp_tile_probe(const T* q, const T* k, const T* v, float* s, float* o);

}  // namespace genrt::test
