#include "kernels/group_norm.cuh"

#include <cstdint>

#include "kernels/type_convert.cuh"

namespace genrt::kernels {

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
static_assert(kThreads % 32 == 0 && kWarps <= 32, "one warp merges the warps' moments");
constexpr unsigned kAllLanes = 0xffffffffu;

// kVec channels per access: the widest (up to 16 bytes) that divides the channels per group
// and to which every operand is aligned. SD's 320 channels in 32 groups (10 each) read
// pairs; its 640 and 1280 read 4 and 8.
template <class T, int kVec>
struct alignas(sizeof(T) * kVec) Pack {
  T v[kVec];
};

// A block's values: (sample, group) is blockIdx.x, its chunk of pixels blockIdx.y; the
// chunk's packs are numbered pixel by pixel.
struct Chunk {
  int64_t sample = 0;
  int64_t first_channel = 0;  // the group's
  int64_t base = 0;           // x and out offset of the chunk's first value
  int packs = 0, packs_per_pixel = 0;
};

template <int kVec, class T>
__device__ Chunk chunk_of(const ref::GroupNormArgs<T>& a, int64_t chunks) {
  const int64_t per_group = a.channels / a.groups, group = blockIdx.x % a.groups;
  const int64_t first = group_norm_chunk_begin(blockIdx.y, a.pixels, chunks);
  const int64_t end = group_norm_chunk_begin(blockIdx.y + 1, a.pixels, chunks);
  Chunk c;
  c.sample = blockIdx.x / a.groups;
  c.first_channel = group * per_group;
  c.base = (c.sample * a.pixels + first) * a.channels + c.first_channel;
  c.packs_per_pixel = static_cast<int>(per_group / kVec);
  c.packs = static_cast<int>(end - first) * c.packs_per_pixel;
  return c;
}

// Pack j of chunk c: its offset in x and out, and its first channel.
struct PackAt {
  int64_t offset, channel;
};
template <int kVec, class T>
__device__ PackAt pack_at(const ref::GroupNormArgs<T>& a, const Chunk& c, int j) {
  const int pixel = j / c.packs_per_pixel, within = (j - pixel * c.packs_per_pixel) * kVec;
  return {c.base + pixel * a.channels + within, c.first_channel + within};
}

// x + channel_add of a pack, in fp32.
template <int kVec, class T>
__device__ void load_inputs(const ref::GroupNormArgs<T>& a, int64_t sample, PackAt at, float (&v)[kVec]) {
  using P = Pack<T, kVec>;
  const P x = *reinterpret_cast<const P*>(a.x + at.offset);
  for (int i = 0; i < kVec; ++i) v[i] = to_float(x.v[i]);
  if (a.channel_add != nullptr) {
    const P add = *reinterpret_cast<const P*>(a.channel_add + sample * a.channels + at.channel);
    for (int i = 0; i < kVec; ++i) v[i] += to_float(add.v[i]);
  }
}

// The moments of the warp's lanes, in lane 0.
__device__ Moments warp_moments(Moments m) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const Moments other{__shfl_down_sync(kAllLanes, m.count, offset), __shfl_down_sync(kAllLanes, m.mean, offset),
                        __shfl_down_sync(kAllLanes, m.m2, offset)};
    m = merge_moments(m, other);
  }
  return m;
}

// The moments of the block's threads, in thread 0.
__device__ Moments block_moments(Moments m) {
  __shared__ Moments warps[kWarps];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  m = warp_moments(m);
  if (lane == 0) warps[warp] = m;
  __syncthreads();
  return warp == 0 ? warp_moments(lane < kWarps ? warps[lane] : Moments{}) : m;
}

// Launch 1: the moments of the chunk's values (after the add), each pack's own merged into
// the thread's, into partials[sample * groups + group][chunk].
template <class T, int kVec>
__global__ void __launch_bounds__(kThreads) group_stats_kernel(ref::GroupNormArgs<T> a, int64_t chunks,
                                                               Moments* partials) {
  const Chunk c = chunk_of<kVec>(a, chunks);
  Moments m{};
  for (int j = threadIdx.x; j < c.packs; j += kThreads) {
    float v[kVec];
    load_inputs<kVec>(a, c.sample, pack_at<kVec>(a, c, j), v);
    float sum = 0.0f;
    for (int i = 0; i < kVec; ++i) sum += v[i];
    const float mean = sum / kVec;
    float m2 = 0.0f;
    for (int i = 0; i < kVec; ++i) m2 += (v[i] - mean) * (v[i] - mean);
    m = merge_moments(m, {static_cast<float>(kVec), mean, m2});
  }
  m = block_moments(m);
  if (threadIdx.x == 0) partials[blockIdx.x * chunks + blockIdx.y] = m;
}

// Element i of an optional [channels] vector's pack, or `identity` when it is absent.
template <int kVec, class T>
__device__ float at_or(const Pack<T, kVec>& p, const T* vector, int i, float identity) {
  return vector != nullptr ? to_float(p.v[i]) : identity;
}

// Launch 2: the group's partials merged by one warp (the same order in every block of the
// group, so all its chunks normalize alike), then the chunk's outputs.
template <class T, int kVec>
__global__ void __launch_bounds__(kThreads) group_normalize_kernel(ref::GroupNormArgs<T> a, int64_t chunks,
                                                                   const Moments* partials) {
  __shared__ float mean_rstd[2];
  if (threadIdx.x < 32) {
    Moments m{};
    const Moments* group = partials + blockIdx.x * chunks;
    for (int64_t k = threadIdx.x; k < chunks; k += 32) m = merge_moments(m, group[k]);
    m = warp_moments(m);
    if (threadIdx.x == 0) {
      mean_rstd[0] = m.mean;
      mean_rstd[1] = rsqrtf(m.m2 / m.count + a.eps);
    }
  }
  __syncthreads();
  const float mean = mean_rstd[0], rstd = mean_rstd[1];
  using P = Pack<T, kVec>;
  const Chunk c = chunk_of<kVec>(a, chunks);
  for (int j = threadIdx.x; j < c.packs; j += kThreads) {
    const PackAt at = pack_at<kVec>(a, c, j);
    float v[kVec];
    load_inputs<kVec>(a, c.sample, at, v);
    const P weight = a.weight != nullptr ? *reinterpret_cast<const P*>(a.weight + at.channel) : P{};
    const P bias = a.bias != nullptr ? *reinterpret_cast<const P*>(a.bias + at.channel) : P{};
    P out;
    for (int i = 0; i < kVec; ++i) {
      out.v[i] = from_float<T>(ref::group_norm_value(v[i], mean, rstd, at_or(weight, a.weight, i, 1.0f),
                                                     at_or(bias, a.bias, i, 0.0f), a.silu));
    }
    *reinterpret_cast<P*>(a.out + at.offset) = out;
  }
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// Both launches at the widest of kVec, kVec / 2, ... that is at most `width`.
template <class T, int kVec>
cudaError_t launch_at_width(int width, const ref::GroupNormArgs<T>& a, int64_t chunks, Moments* partials,
                            cudaStream_t stream) {
  if constexpr (kVec > 1) {
    if (width < kVec) return launch_at_width<T, kVec / 2>(width, a, chunks, partials, stream);
  }
  const dim3 grid(static_cast<unsigned>(a.batch * a.groups), static_cast<unsigned>(chunks));
  group_stats_kernel<T, kVec><<<grid, kThreads, 0, stream>>>(a, chunks, partials);
  if (const cudaError_t status = cudaGetLastError(); status != cudaSuccess) return status;
  group_normalize_kernel<T, kVec><<<grid, kThreads, 0, stream>>>(a, chunks, partials);
  return cudaGetLastError();
}

}  // namespace

template <class T>
cudaError_t launch_group_norm(const ref::GroupNormArgs<T>& a, void* workspace, size_t workspace_bytes,
                              cudaStream_t stream) {
  if (a.batch < 0 || a.pixels < 0 || a.channels < 0 || a.groups <= 0 || a.channels % a.groups != 0) {
    return cudaErrorInvalidValue;
  }
  if (a.batch == 0 || a.pixels == 0 || a.channels == 0) return cudaSuccess;
  if (a.x == nullptr || a.out == nullptr || workspace == nullptr || !aligned(workspace, alignof(Moments))) {
    return cudaErrorInvalidValue;
  }
  const int64_t per_group = a.channels / a.groups;
  const int64_t chunks = group_norm_chunks(a.batch, a.groups, a.pixels, per_group, kGroupNormTargetBlocks,
                                           static_cast<int64_t>(workspace_bytes / sizeof(Moments)));
  // The grid's x counts (sample, group) pairs; a chunk's packs are counted in 32 bits.
  if (chunks == 0 || a.batch * a.groups > INT32_MAX || (a.pixels / chunks + 1) * per_group > INT32_MAX) {
    return cudaErrorInvalidValue;
  }
  int width = 16 / sizeof(T);
  const auto fits = [&](int w) {
    const size_t bytes = w * sizeof(T);
    return per_group % w == 0 && aligned(a.x, bytes) && aligned(a.out, bytes) && aligned(a.channel_add, bytes) &&
           aligned(a.weight, bytes) && aligned(a.bias, bytes);  // null pointers are aligned
  };
  while (width > 1 && !fits(width)) width /= 2;
  return launch_at_width<T, 16 / sizeof(T)>(width, a, chunks, static_cast<Moments*>(workspace), stream);
}

template cudaError_t launch_group_norm<float>(const ref::GroupNormArgs<float>&, void*, size_t, cudaStream_t);
template cudaError_t launch_group_norm<__half>(const ref::GroupNormArgs<__half>&, void*, size_t, cudaStream_t);
template cudaError_t launch_group_norm<__nv_bfloat16>(const ref::GroupNormArgs<__nv_bfloat16>&, void*, size_t,
                                                      cudaStream_t);

}  // namespace genrt::kernels
