#pragma once
// Shape limits of genrt's CUDA kernels, in plain C++: the launchers refuse what is beyond
// them, and the op entries check them first to name them in their errors, in builds
// without CUDA too (runtime/backend/gpu_limits.h).

#include <cstdint>

namespace genrt::kernels {

// Row normalization (norm.cu): the row is staged in shared memory in fp32.
inline constexpr int64_t kMaxNormDim = 8192;

// The baseline attention kernels (warp_attention.cuh): one warp per (query, head) holding
// up to 16 of the head's features per lane (512: the single head of Stable Diffusion's VAE
// mid block), kWarpAttentionWarps heads per block along the grid's y axis (at most 65535
// blocks).
inline constexpr int64_t kMaxWarpAttentionHeadDim = 512;
inline constexpr int kWarpAttentionWarps = 4;
inline constexpr int64_t kMaxWarpAttentionHeads = int64_t{65535} * kWarpAttentionWarps;

}  // namespace genrt::kernels
