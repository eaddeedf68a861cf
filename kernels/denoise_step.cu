#include "kernels/denoise_step.cuh"

#include "kernels/elementwise.cuh"
#include "kernels/ref/philox.h"

namespace genrt::kernels {

namespace {

__global__ void __launch_bounds__(kElementwiseThreads)
    guidance_input_kernel(const float* latents, float scale, float* out, int64_t n, int64_t copies) {
  for_each_element(n * copies, [&](int64_t i) { out[i] = latents[i % n] * scale; });
}

__global__ void __launch_bounds__(kElementwiseThreads) guidance_combine_kernel(ref::GuidanceArgs a) {
  for_each_element(a.batch * a.channels * a.pixels, [&](int64_t i) { a.eps[i] = ref::guided_eps(a, i); });
}

__global__ void __launch_bounds__(kElementwiseThreads) scheduler_step_kernel(ref::SchedulerStepArgs a) {
  for_each_element(a.n, [&](int64_t i) {
    a.sample[i] = ref::scheduler_step_value(a.c, a.sample[i], a.model_output[i], a.x0 != nullptr ? a.x0 + i : nullptr,
                                            a.noise != nullptr ? a.noise[i] : 0.0f);
  });
}

__global__ void __launch_bounds__(kElementwiseThreads) channel_affine_kernel(ref::ChannelAffineArgs a) {
  for_each_element(a.batch * a.affine.channels * a.pixels,
                   [&](int64_t i) { a.out[i] = ref::channel_affine_value(a, i); });
}

__global__ void __launch_bounds__(kElementwiseThreads)
    gaussian_noise_kernel(uint64_t seed, uint64_t stream_id, float* out, int64_t n) {
  for_each_element(n, [&](int64_t i) { out[i] = ref::philox_normal(seed, stream_id, static_cast<uint64_t>(i)); });
}

// Counts per thread, sums per warp, one atomic per warp.
__global__ void __launch_bounds__(kElementwiseThreads)
    count_nonfinite_kernel(const float* x, int64_t n, unsigned* count) {
  unsigned mine = 0;
  for_each_element(n, [&](int64_t i) { mine += isfinite(x[i]) ? 0u : 1u; });
  const unsigned warp_total = __reduce_add_sync(0xffffffffu, mine);
  if (threadIdx.x % 32 == 0 && warp_total != 0) atomicAdd(count, warp_total);
}

}  // namespace

cudaError_t launch_guidance_input(const float* latents, float scale, float* out, int64_t n, int64_t copies,
                                  cudaStream_t stream) {
  if (n < 0 || copies < 0 || latents == nullptr || out == nullptr) return cudaErrorInvalidValue;
  if (n * copies == 0) return cudaSuccess;
  guidance_input_kernel<<<elementwise_blocks(n * copies), kElementwiseThreads, 0, stream>>>(latents, scale, out, n, copies);
  return cudaGetLastError();
}

cudaError_t launch_guidance_combine(const ref::GuidanceArgs& a, cudaStream_t stream) {
  if (a.model_output == nullptr || a.eps == nullptr || a.batch < 0 || a.channels < 0 || a.pixels < 0 ||
      a.out_channels < a.channels) {
    return cudaErrorInvalidValue;
  }
  const int64_t n = a.batch * a.channels * a.pixels;
  if (n == 0) return cudaSuccess;
  guidance_combine_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

cudaError_t launch_scheduler_step(const ref::SchedulerStepArgs& a, cudaStream_t stream) {
  if (a.n < 0 || a.sample == nullptr || a.model_output == nullptr ||
      (a.c.next_from_noise != 0.0f && a.noise == nullptr) || (a.c.next_from_prev_x0 != 0.0f && a.x0 == nullptr)) {
    return cudaErrorInvalidValue;
  }
  if (a.n == 0) return cudaSuccess;
  scheduler_step_kernel<<<elementwise_blocks(a.n), kElementwiseThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

cudaError_t launch_channel_affine(const ref::ChannelAffineArgs& a, cudaStream_t stream) {
  if (a.x == nullptr || a.out == nullptr || a.batch < 0 || a.pixels < 0 || a.affine.channels <= 0 ||
      a.affine.channels > ref::ChannelAffine::kMaxChannels) {
    return cudaErrorInvalidValue;
  }
  const int64_t n = a.batch * a.affine.channels * a.pixels;
  if (n == 0) return cudaSuccess;
  channel_affine_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

cudaError_t launch_gaussian_noise(uint64_t seed, uint64_t stream_id, float* out, int64_t n, cudaStream_t stream) {
  if (n < 0 || out == nullptr) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  gaussian_noise_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, stream>>>(seed, stream_id, out, n);
  return cudaGetLastError();
}

cudaError_t launch_count_nonfinite(const float* x, int64_t n, unsigned* count, cudaStream_t stream) {
  if (n < 0 || x == nullptr || count == nullptr) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  count_nonfinite_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, stream>>>(x, n, count);
  return cudaGetLastError();
}

}  // namespace genrt::kernels
