#pragma once
// A whole block's reduction of one value per thread, in a fixed order: an xor butterfly
// within each warp (offsets 16, 8, 4, 2, 1; every lane takes part), then the warp results
// in warp order. ref/sampling.cpp reproduces this order for fp32 sums, so the sampling
// kernel's thresholds and draws match the CPU reference bit for bit.

#include <cstdint>

namespace genrt::kernels {

__device__ __forceinline__ float shfl_xor(float v, int offset) { return __shfl_xor_sync(0xffffffffu, v, offset); }
__device__ __forceinline__ double shfl_xor(double v, int offset) { return __shfl_xor_sync(0xffffffffu, v, offset); }
__device__ __forceinline__ int32_t shfl_xor(int32_t v, int offset) {
  return __shfl_xor_sync(0xffffffffu, v, offset);
}

// Every thread of the block (kThreads of them, whole warps) must call it; every thread
// gets the result. `scratch` is shared memory for kThreads / 32 values; the leading
// barrier lets the readers of a previous reduction's scratch finish first. Other value
// types provide their own shfl_xor, found by argument-dependent lookup.
template <int kThreads, class T, class Op>
__device__ T block_reduce(T v, T* scratch, Op op) {
  static_assert(kThreads % 32 == 0 && kThreads <= 1024, "whole warps, one block");
  for (int offset = 16; offset > 0; offset /= 2) v = op(v, shfl_xor(v, offset));
  __syncthreads();
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
  __syncthreads();
  v = scratch[0];
  for (int w = 1; w < kThreads / 32; ++w) v = op(v, scratch[w]);
  return v;
}

struct SumOp {
  template <class T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }  // NaN loses
};

}  // namespace genrt::kernels
