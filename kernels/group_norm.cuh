#pragma once
// GroupNorm over NHWC images on the GPU (see kernels/ref/group_norm.h for the op, its
// arguments and the per-element formula), in two launches so that the few large groups of a
// UNet or VAE layer (64 at batch 2 and 32 groups, each up to a million values) still fill
// the device:
//
//   1. statistics: a block per (sample, group, chunk of pixels) reduces its values to a
//      partial (count, mean, M2) in the workspace;
//   2. normalize: a block per (sample, group, chunk) merges its group's partials, in the
//      same order in every block, and writes its chunk's outputs.
//
// Partials merge with Chan's pairwise update, so no sum of squares ever cancels.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/ref/group_norm.h"
#include "kernels/ref/host_device.h"

namespace genrt::kernels {

// The statistics of a set of values: their count, mean and sum of squared deviations from
// the mean (the biased variance is m2 / count). Value-initialize for the empty set
// (`Moments m{}`): there are no default member initializers, so that a __shared__ array of
// it needs no dynamic initialization (which some nvcc versions warn about, #20054-D).
struct Moments {
  float count, mean, m2;
};
static_assert(std::is_trivially_default_constructible_v<Moments>, "kept in __shared__ arrays");

// The statistics of the union of two disjoint sets (Chan, Golub and LeVeque's update).
GENRT_HOST_DEVICE inline Moments merge_moments(Moments a, Moments b) {
  if (b.count == 0.0f) return a;
  if (a.count == 0.0f) return b;
  const float count = a.count + b.count, delta = b.mean - a.mean, share = b.count / count;
  return {count, a.mean + delta * share, a.m2 + b.m2 + delta * delta * a.count * share};
}

// The partials a runtime reserves for launch 1 (CudaContext::group_norm_workspace): at
// least one per (sample, group), so batch x groups may reach 8192 (SD's 32 groups at batch
// 256); more only allow more chunks per group.
inline constexpr int64_t kGroupNormWorkspacePartials = 8192;
inline constexpr size_t kGroupNormWorkspaceBytes = kGroupNormWorkspacePartials * sizeof(Moments);

// Blocks the launches aim at: about 8 per SM of an H200 (132 SMs), so every SM has loads in
// flight. An SM holds at most 8 of these 256-thread blocks (2048 threads), and that only at 32
// registers per thread or fewer; the kernels use 32 to 50 (nvcc 13), so 4 to 8 are resident
// (mostly 6) and the grid runs in one or two waves. Not tuned by measurement yet.
inline constexpr int64_t kGroupNormTargetBlocks = 1024;
// A chunk holds at least this many values (16 per thread), so merging stays a small share.
inline constexpr int64_t kGroupNormMinChunkValues = 4096;

// How many chunks of pixels each (sample, group) is split into: enough blocks for
// `target_blocks`, each chunk of at least kGroupNormMinChunkValues values and one pixel, and
// no more partials than the workspace holds. 0 when the workspace cannot hold one per group.
GENRT_HOST_DEVICE inline int64_t group_norm_chunks(int64_t batch, int64_t groups, int64_t pixels,
                                                   int64_t channels_per_group, int64_t target_blocks,
                                                   int64_t workspace_partials) {
  const int64_t pairs = batch * groups;
  int64_t chunks = (target_blocks + pairs - 1) / pairs;
  const int64_t by_size = pixels * channels_per_group / kGroupNormMinChunkValues;
  if (chunks > by_size) chunks = by_size;
  if (chunks > pixels) chunks = pixels;
  if (chunks < 1) chunks = 1;
  return chunks * pairs <= workspace_partials ? chunks : workspace_partials / pairs;
}

// The first pixel of chunk `chunk` of `chunks` (chunk == chunks: the end).
GENRT_HOST_DEVICE inline int64_t group_norm_chunk_begin(int64_t chunk, int64_t pixels, int64_t chunks) {
  return chunk * pixels / chunks;
}

// T is float, __half or __nv_bfloat16. `workspace` holds workspace_bytes of device memory
// for the partials (kGroupNormWorkspaceBytes planned; at least batch x groups x
// sizeof(Moments)), stream-ordered: the next launch on the stream may reuse it.
template <class T>
cudaError_t launch_group_norm(const ref::GroupNormArgs<T>& args, void* workspace, size_t workspace_bytes,
                              cudaStream_t stream);

}  // namespace genrt::kernels
