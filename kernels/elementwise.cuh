#pragma once
// Grid-stride loops for the memory-bound elementwise kernels: the grid fills the device a
// few times over instead of launching one thread per element, and each thread walks the
// elements a grid's width apart so that every warp's accesses stay coalesced.

#include <algorithm>
#include <cstdint>

namespace genrt::kernels {

constexpr int kElementwiseThreads = 256;

inline unsigned elementwise_blocks(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + kElementwiseThreads - 1) / kElementwiseThreads, 1, 65536));
}

// Calls f(i) for every i < n, spread over the whole grid.
template <class F>
__device__ __forceinline__ void for_each_element(int64_t n, F&& f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

}  // namespace genrt::kernels
