#include "runtime/backend/diffusion_ops.h"

#include <cmath>

#include "kernels/ref/guidance.h"
#include "kernels/ref/patchify.h"
#include "kernels/ref/philox.h"
#include "runtime/backend/op_checks.h"

namespace genrt::ops {

namespace {

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

Shape token_shape(const ref::PatchShape& s) {
  return {s.batch, (s.height / s.patch) * (s.width / s.patch), s.channels * s.patch * s.patch};
}

}  // namespace

void patchify(const Tensor& image, int64_t patch, Tensor& tokens) {
  expect_cpu(image, "patchify", "image");
  expect_cpu(tokens, "patchify", "tokens");
  const ref::PatchShape s = patch_shape(image, patch, "patchify");
  expect_shape(tokens, token_shape(s), "patchify", "tokens");
  ref::patchify(image.data<float>(), tokens.data<float>(), s);
}

void unpatchify(const Tensor& tokens, int64_t patch, Tensor& image) {
  expect_cpu(tokens, "unpatchify", "tokens");
  expect_cpu(image, "unpatchify", "image");
  const ref::PatchShape s = patch_shape(image, patch, "unpatchify");
  expect_shape(tokens, token_shape(s), "unpatchify", "tokens");
  ref::unpatchify(tokens.data<float>(), image.data<float>(), s);
}

void guidance_input(const Tensor& latents, float scale, Tensor& out) {
  expect_cpu(latents, "guidance_input", "latents");
  expect_cpu(out, "guidance_input", "out");
  GENRT_CHECK(latents.rank() >= 1 && latents.dim(0) > 0 && out.rank() == latents.rank() &&
                  out.dim(0) % latents.dim(0) == 0,
              "guidance_input: out {} is not a whole number of copies of latents {}",
              shape_string(out.shape()), shape_string(latents.shape()));
  Shape expected = latents.shape();
  expected[0] = out.dim(0);
  expect_shape(out, expected, "guidance_input", "out");
  ref::guidance_input(latents.data<float>(), scale, out.data<float>(), latents.numel(),
                      out.dim(0) / latents.dim(0));
}

void guidance_combine(const Tensor& model_output, bool guided, float guidance, Tensor& eps) {
  const char* op = "guidance_combine";
  expect_cpu(model_output, op, "model_output");
  expect_cpu(eps, op, "eps");
  GENRT_CHECK(eps.rank() == 4 && model_output.rank() == 4,
              "{}: eps {} and model_output {} must be [batch, channels, height, width]", op,
              shape_string(eps.shape()), shape_string(model_output.shape()));
  const int64_t batch = eps.dim(0), channels = eps.dim(1);
  const int64_t out_channels = model_output.dim(1);
  GENRT_CHECK(out_channels >= channels, "{}: the model predicts {} channels, fewer than {}", op,
              out_channels, channels);
  expect_shape(model_output, {(guided ? 2 : 1) * batch, out_channels, eps.dim(2), eps.dim(3)},
               op, "model_output");
  ref::guidance_combine({.model_output = model_output.data<float>(),
                         .eps = eps.data<float>(),
                         .batch = batch,
                         .channels = channels,
                         .out_channels = out_channels,
                         .pixels = eps.dim(2) * eps.dim(3),
                         .guidance = guidance,
                         .guided = guided});
}

void scheduler_step(const ref::StepCoefficients& c, const Tensor& model_output, Tensor& sample,
                    Tensor& x0_history, const Tensor& noise) {
  const char* op = "scheduler_step";
  expect_cpu(sample, op, "sample");
  expect_cpu(model_output, op, "model_output");
  expect_shape(model_output, sample.shape(), op, "model_output");
  ref::SchedulerStepArgs args{.c = c,
                              .model_output = model_output.data<float>(),
                              .sample = sample.data<float>(),
                              .n = sample.numel()};
  if (x0_history.defined()) {
    expect_cpu(x0_history, op, "x0_history");
    expect_shape(x0_history, sample.shape(), op, "x0_history");
    args.x0 = x0_history.data<float>();
  }
  GENRT_CHECK(c.next_from_prev_x0 == 0.0f || args.x0 != nullptr,
              "{}: a multistep update needs the previous x0", op);
  if (c.next_from_noise != 0.0f) {
    expect_cpu(noise, op, "noise");
    expect_shape(noise, sample.shape(), op, "noise");
    args.noise = noise.data<float>();
  }
  ref::scheduler_step(args);
}

void gaussian_noise(uint64_t seed, uint64_t stream, Tensor& out) {
  expect_cpu(out, "gaussian_noise", "out");
  ref::gaussian_noise(seed, stream, out.data<float>(), out.numel());
}

int64_t count_nonfinite(const Tensor& x) {
  expect_cpu(x, "count_nonfinite", "x");
  int64_t count = 0;
  for (float v : x.span<float>()) count += std::isfinite(v) ? 0 : 1;
  return count;
}

}  // namespace genrt::ops
