#include "runtime/backend/diffusion_ops.h"

#include <cmath>

#include "kernels/ref/channel_affine.h"
#include "kernels/ref/guidance.h"
#include "kernels/ref/patchify.h"
#include "kernels/ref/philox.h"
#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/op_checks.h"

namespace genrt::ops {

namespace {

// The latents and everything computed from them stay fp32 on every device: the scheduler
// adds small updates to large values over many steps.
Placement latent_placement(const Tensor& t, const char* op, const char* name) {
  const Placement where = placement_of(t, op, name);
  GENRT_CHECK(where.dtype == DType::f32, "{}: {} is {}, expected f32 (latents stay fp32 on every device)", op, name,
              dtype_name(where.dtype));
  return where;
}

ref::PatchShape patch_shape(const Tensor& image, int64_t patch, const char* op) {
  GENRT_CHECK(image.rank() == 4, "{}: image must be [batch, channels, height, width], got {}",
              op, shape_string(image.shape()));
  GENRT_CHECK(patch > 0 && image.dim(2) % patch == 0 && image.dim(3) % patch == 0,
              "{}: image {} is not a whole number of {}x{} patches", op,
              shape_string(image.shape()), patch, patch);
  return {.batch = image.dim(0),
          .channels = image.dim(1),
          .height = image.dim(2),
          .width = image.dim(3),
          .patch = patch};
}

// Checks image (f32) and tokens (the model's storage type, on the same device).
ref::PatchShape expect_patches(const Tensor& image, int64_t patch, const Tensor& tokens, const char* op) {
  const Placement where = latent_placement(image, op, "image");
  const ref::PatchShape s = patch_shape(image, patch, op);
  const Placement token_where = placement_of(tokens, op, "tokens");
  GENRT_CHECK(token_where.device == where.device, "{}: tokens are on {}, the image on {}", op,
              device_name(token_where.device), device_name(where.device));
  expect_shape(tokens, {s.batch, (s.height / s.patch) * (s.width / s.patch), s.channels * s.patch * s.patch}, op,
               "tokens");
  return s;
}

}  // namespace

void patchify(const Tensor& image, int64_t patch, Tensor& tokens) {
  const ref::PatchShape s = expect_patches(image, patch, tokens, "patchify");
  GENRT_ON_CUDA(Placement{image.device()}, cuda_ops::patchify(image, s, tokens));
  ref::patchify(image.data<float>(), tokens.data<float>(), s);
}

void unpatchify(const Tensor& tokens, int64_t patch, Tensor& image) {
  const ref::PatchShape s = expect_patches(image, patch, tokens, "unpatchify");
  GENRT_ON_CUDA(Placement{image.device()}, cuda_ops::unpatchify(tokens, s, image));
  ref::unpatchify(tokens.data<float>(), image.data<float>(), s);
}

void guidance_input(const Tensor& latents, float scale, Tensor& out) {
  const Placement where = latent_placement(latents, "guidance_input", "latents");
  expect_on(out, where, "guidance_input", "out");
  GENRT_CHECK(latents.rank() >= 1 && latents.dim(0) > 0 && out.rank() == latents.rank() &&
                  out.dim(0) % latents.dim(0) == 0,
              "guidance_input: out {} is not a whole number of copies of latents {}",
              shape_string(out.shape()), shape_string(latents.shape()));
  Shape expected = latents.shape();
  expected[0] = out.dim(0);
  expect_shape(out, expected, "guidance_input", "out");
  GENRT_ON_CUDA(where, cuda_ops::guidance_input(latents, scale, out));
  ref::guidance_input(latents.data<float>(), scale, out.data<float>(), latents.numel(),
                      out.dim(0) / latents.dim(0));
}

void guidance_combine(const Tensor& model_output, bool guided, float guidance, Tensor& eps) {
  const char* op = "guidance_combine";
  const Placement where = latent_placement(eps, op, "eps");
  expect_on(model_output, where, op, "model_output");
  GENRT_CHECK(eps.rank() == 4 && model_output.rank() == 4,
              "{}: eps {} and model_output {} must be [batch, channels, height, width]", op,
              shape_string(eps.shape()), shape_string(model_output.shape()));
  const int64_t batch = eps.dim(0), channels = eps.dim(1);
  const int64_t out_channels = model_output.dim(1);
  GENRT_CHECK(out_channels >= channels, "{}: the model predicts {} channels, fewer than {}", op,
              out_channels, channels);
  expect_shape(model_output, {(guided ? 2 : 1) * batch, out_channels, eps.dim(2), eps.dim(3)},
               op, "model_output");
  const ref::GuidanceArgs args{.model_output = static_cast<const float*>(model_output.raw()),
                               .eps = static_cast<float*>(eps.raw()),
                               .batch = batch,
                               .channels = channels,
                               .out_channels = out_channels,
                               .pixels = eps.dim(2) * eps.dim(3),
                               .guidance = guidance,
                               .guided = guided};
  GENRT_ON_CUDA(where, cuda_ops::guidance_combine(args));
  ref::guidance_combine(args);
}

void scheduler_step(const ref::StepCoefficients& c, const Tensor& model_output, Tensor& sample,
                    Tensor& x0_history, const Tensor& noise) {
  const char* op = "scheduler_step";
  const Placement where = latent_placement(sample, op, "sample");
  expect_on(model_output, where, op, "model_output");
  expect_shape(model_output, sample.shape(), op, "model_output");
  ref::SchedulerStepArgs args{.c = c,
                              .model_output = static_cast<const float*>(model_output.raw()),
                              .sample = static_cast<float*>(sample.raw()),
                              .n = sample.numel()};
  if (x0_history.defined()) {
    expect_on(x0_history, where, op, "x0_history");
    expect_shape(x0_history, sample.shape(), op, "x0_history");
    args.x0 = static_cast<float*>(x0_history.raw());
  }
  GENRT_CHECK(c.next_from_prev_x0 == 0.0f || args.x0 != nullptr,
              "{}: a multistep update needs the previous x0", op);
  if (c.next_from_noise != 0.0f) {
    expect_on(noise, where, op, "noise");
    expect_shape(noise, sample.shape(), op, "noise");
    args.noise = static_cast<const float*>(noise.raw());
  }
  GENRT_ON_CUDA(where, cuda_ops::scheduler_step(args));
  ref::scheduler_step(args);
}

void channel_affine(const Tensor& x, const ref::ChannelAffine& affine, Tensor& out) {
  const char* op = "channel_affine";
  const Placement where = latent_placement(x, op, "x");
  expect_on(out, where, op, "out");
  GENRT_CHECK(affine.channels > 0 && affine.channels <= ref::ChannelAffine::kMaxChannels,
              "{}: {} channels of coefficients, expected 1 to {}", op, affine.channels,
              ref::ChannelAffine::kMaxChannels);
  GENRT_CHECK(x.rank() == 4 && x.dim(1) == affine.channels, "{}: x {} must be [batch, {}, height, width]", op,
              shape_string(x.shape()), affine.channels);
  expect_shape(out, x.shape(), op, "out");
  const ref::ChannelAffineArgs args{.affine = affine,
                                    .x = static_cast<const float*>(x.raw()),
                                    .out = static_cast<float*>(out.raw()),
                                    .batch = x.dim(0),
                                    .pixels = x.dim(2) * x.dim(3)};
  GENRT_ON_CUDA(where, cuda_ops::channel_affine(args));
  ref::channel_affine(args);
}

void gaussian_noise(uint64_t seed, uint64_t stream, Tensor& out) {
  const Placement where = latent_placement(out, "gaussian_noise", "out");
  GENRT_ON_CUDA(where, cuda_ops::gaussian_noise(seed, stream, out));
  ref::gaussian_noise(seed, stream, out.data<float>(), out.numel());
}

int64_t count_nonfinite(const Tensor& x, [[maybe_unused]] Tensor& counter) {
  const Placement where = latent_placement(x, "count_nonfinite", "x");
  const OpTimer timer(__func__, where.device);  // its span ends after the host's wait for the count
#ifdef GENRT_HAVE_CUDA
  if (where.device == Device::cuda) {
    expect_on(counter, {Device::cuda, DType::i32}, "count_nonfinite", "counter");
    return cuda_ops::count_nonfinite(x, counter);
  }
#endif
  int64_t count = 0;
  for (float v : x.span<float>()) count += std::isfinite(v) ? 0 : 1;
  return count;
}

}  // namespace genrt::ops
