#include "runtime/backend/cuda/cuda_ops.h"

#include "kernels/denoise_step.cuh"
#include "kernels/patchify.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"

namespace genrt::cuda_ops {

using ops::data_or_null;

void patchify(const Tensor& image, const ref::PatchShape& shape, Tensor& tokens) {
  with_storage_type(tokens.dtype(), [&]<class T>() {
    check_cuda(kernels::launch_patchify<T>(
                   {.shape = shape, .image = data_or_null<float>(image), .tokens = data_or_null<T>(tokens)},
                   current_stream()),
               "patchify kernel");
  });
}

void unpatchify(const Tensor& tokens, const ref::PatchShape& shape, Tensor& image) {
  with_storage_type(tokens.dtype(), [&]<class T>() {
    check_cuda(kernels::launch_unpatchify<T>(
                   {.shape = shape, .image = data_or_null<float>(image), .tokens = data_or_null<T>(tokens)},
                   current_stream()),
               "unpatchify kernel");
  });
}

void guidance_input(const Tensor& latents, float scale, Tensor& out) {
  if (latents.numel() == 0) return;  // nothing to copy, and no copies-per-latent ratio
  check_cuda(kernels::launch_guidance_input(data_or_null<float>(latents), scale, data_or_null<float>(out),
                                            latents.numel(), out.numel() / latents.numel(), current_stream()),
             "guidance input kernel");
}

void guidance_combine(const ref::GuidanceArgs& args) {
  check_cuda(kernels::launch_guidance_combine(args, current_stream()), "guidance kernel");
}

void scheduler_step(const ref::SchedulerStepArgs& args) {
  check_cuda(kernels::launch_scheduler_step(args, current_stream()), "scheduler step kernel");
}

void channel_affine(const ref::ChannelAffineArgs& args) {
  check_cuda(kernels::launch_channel_affine(args, current_stream()), "channel affine kernel");
}

void gaussian_noise(uint64_t seed, uint64_t stream_id, Tensor& out) {
  check_cuda(kernels::launch_gaussian_noise(seed, stream_id, data_or_null<float>(out), out.numel(), current_stream()),
             "gaussian noise kernel");
}

int64_t count_nonfinite(const Tensor& x, Tensor& counter) {
  const cudaStream_t stream = current_stream();
  auto* count = static_cast<unsigned*>(counter.raw());
  check_cuda(cudaMemsetAsync(count, 0, sizeof(unsigned), stream), "zeroing the NaN counter");
  check_cuda(kernels::launch_count_nonfinite(data_or_null<float>(x), x.numel(), count, stream), "NaN check kernel");
  unsigned host = 0;
  check_cuda(cudaMemcpyAsync(&host, count, sizeof(unsigned), cudaMemcpyDeviceToHost, stream), "NaN count copy");
  check_cuda(cudaStreamSynchronize(stream), "denoising step");
  return host;
}

}  // namespace genrt::cuda_ops
