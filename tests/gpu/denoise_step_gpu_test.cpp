// The denoising loop's kernels on the GPU against the CPU references: patch layouts in
// every storage dtype, guidance, the scheduler step, Philox noise, the NaN count and the
// latents' per-channel affine. Skip without a device.

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/denoise_step.cuh"
#include "kernels/patchify.cuh"
#include "kernels/ref/channel_affine.h"
#include "kernels/ref/guidance.h"
#include "kernels/ref/patchify.h"
#include "kernels/ref/philox.h"
#include "kernels/ref/scheduler_step.h"
#include "runtime/backend/cuda/storage_type.h"
#include "runtime/core/max_rel_diff.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

int64_t pixels(const ref::PatchShape& s) { return s.batch * s.channels * s.height * s.width; }

using PatchCase = std::tuple<DType, ref::PatchShape>;

class PatchifyGpu : public ::testing::TestWithParam<PatchCase> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }

  // Both directions: values the dtype represents exactly, so the layouts must match bit
  // for bit.
  template <class T>
  void run(DType dtype, const ref::PatchShape& s) {
    const std::vector<float> image = pattern(pixels(s), 3.0f, 1, dtype);
    std::vector<float> tokens(pixels(s)), expected_tokens(pixels(s)), expected_image(pixels(s));
    ref::patchify(image.data(), expected_tokens.data(), s);
    DeviceBuffer d_image(image, DType::f32), d_tokens(tokens, dtype);
    ASSERT_EQ(kernels::launch_patchify<T>({.shape = s, .image = d_image.get<float>(), .tokens = d_tokens.get<T>()},
                                          nullptr),
              cudaSuccess);
    EXPECT_EQ(d_tokens.read(), expected_tokens);

    const std::vector<float> out_tokens = pattern(pixels(s), 3.0f, 2, dtype);
    ref::unpatchify(out_tokens.data(), expected_image.data(), s);
    DeviceBuffer d_out_tokens(out_tokens, dtype), d_out_image(std::vector<float>(pixels(s)), DType::f32);
    ASSERT_EQ(kernels::launch_unpatchify<T>(
                  {.shape = s, .image = d_out_image.get<float>(), .tokens = d_out_tokens.get<T>()}, nullptr),
              cudaSuccess);
    EXPECT_EQ(d_out_image.read(), expected_image);
  }
};

TEST_P(PatchifyGpu, MatchesReferenceExactly) {
  const auto [dtype, shape] = GetParam();
  with_storage_type(dtype, [&]<class T>() { run<T>(dtype, shape); });
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PatchifyGpu,
    ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                       ::testing::Values(ref::PatchShape{.batch = 1, .channels = 4, .height = 8, .width = 8, .patch = 2},
                                         // DiT-XL/2 at 256 px: a guided batch of 8 images
                                         ref::PatchShape{.batch = 16, .channels = 4, .height = 32, .width = 32, .patch = 2},
                                         ref::PatchShape{.batch = 3, .channels = 3, .height = 12, .width = 20, .patch = 4},
                                         ref::PatchShape{.batch = 2, .channels = 1, .height = 5, .width = 7, .patch = 1})));

TEST(PatchifyGpuLaunch, RejectsShapesThatAreNotWholePatches) {
  float dummy = 0;
  EXPECT_EQ(kernels::launch_patchify<float>(
                {.shape = {.batch = 1, .channels = 1, .height = 5, .width = 4, .patch = 2}, .image = &dummy,
                 .tokens = &dummy},
                nullptr),
            cudaErrorInvalidValue);
}

class DenoiseStepGpu : public ::testing::Test {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

TEST_F(DenoiseStepGpu, GuidanceInputAndCombineMatchReference) {
  const int64_t batch = 3, channels = 4, out_channels = 8, pixels = 17 * 17;
  const int64_t n = batch * channels * pixels;
  const std::vector<float> latents = pattern(n, 2.0f, 3, DType::f32);
  DeviceBuffer d_latents(latents, DType::f32), d_input(std::vector<float>(2 * n), DType::f32);
  ASSERT_EQ(kernels::launch_guidance_input(d_latents.get<float>(), 0.5f, d_input.get<float>(), n, 2, nullptr),
            cudaSuccess);
  std::vector<float> expected_input(2 * n);
  ref::guidance_input(latents.data(), 0.5f, expected_input.data(), n, 2);
  EXPECT_EQ(d_input.read(), expected_input);

  const std::vector<float> output = pattern(2 * batch * out_channels * pixels, 2.0f, 4, DType::f32);
  DeviceBuffer d_output(output, DType::f32);
  for (const bool guided : {true, false}) {
    const int64_t samples = guided ? 2 * batch : batch;
    DeviceBuffer d_eps(std::vector<float>(n), DType::f32);
    ref::GuidanceArgs args{.model_output = d_output.get<float>(), .eps = d_eps.get<float>(), .batch = batch,
                           .channels = channels, .out_channels = out_channels, .pixels = pixels, .guidance = 4.0f,
                           .guided = guided};
    ASSERT_EQ(kernels::launch_guidance_combine(args, nullptr), cudaSuccess);
    std::vector<float> expected(n);
    args.model_output = output.data();
    args.eps = expected.data();
    ref::guidance_combine(args);
    // The same fp32 formula on both sides; only FMA contraction may differ.
    const std::vector<float> got = d_eps.read();
    EXPECT_LE(max_rel_diff(got.data(), expected.data(), n), 1e-6) << "guided " << guided << ", " << samples;
  }
}

TEST_F(DenoiseStepGpu, SchedulerStepMatchesReferenceForEveryTerm) {
  const int64_t n = 4 * 32 * 32 * 2 + 5;
  const std::vector<float> sample = pattern(n, 3.0f, 5, DType::f32), output = pattern(n, 1.5f, 6, DType::f32);
  const std::vector<float> prev_x0 = pattern(n, 1.0f, 7, DType::f32), noise = pattern(n, 1.0f, 8, DType::f32);
  const ref::StepCoefficients multistep{.x0_from_sample = 1.3f, .x0_from_output = -0.7f, .x0_clip = 1.0f,
                                        .next_from_x0 = 0.4f, .next_from_sample = 0.9f, .next_from_output = 0.1f,
                                        .next_from_prev_x0 = -0.2f, .next_from_noise = 0.3f};
  for (const bool with_history : {true, false}) {
    ref::StepCoefficients c = multistep;
    if (!with_history) c.next_from_prev_x0 = 0.0f;
    DeviceBuffer d_sample(sample, DType::f32), d_output(output, DType::f32), d_x0(prev_x0, DType::f32),
        d_noise(noise, DType::f32);
    ASSERT_EQ(kernels::launch_scheduler_step({.c = c, .model_output = d_output.get<float>(),
                                              .sample = d_sample.get<float>(),
                                              .x0 = with_history ? d_x0.get<float>() : nullptr,
                                              .noise = d_noise.get<float>(), .n = n},
                                             nullptr),
              cudaSuccess);
    std::vector<float> expected = sample, expected_x0 = prev_x0;
    ref::scheduler_step({.c = c, .model_output = output.data(), .sample = expected.data(),
                         .x0 = with_history ? expected_x0.data() : nullptr, .noise = noise.data(), .n = n});
    const std::vector<float> got = d_sample.read(), got_x0 = d_x0.read();
    EXPECT_LE(max_rel_diff(got.data(), expected.data(), n), 1e-6);
    EXPECT_LE(max_rel_diff(got_x0.data(), expected_x0.data(), n), 1e-6);
  }
}

TEST_F(DenoiseStepGpu, ClippingKeepsNaN) {
  const std::vector<float> sample = {NAN, 5.0f}, output = {0.0f, 0.0f};
  DeviceBuffer d_sample(sample, DType::f32), d_output(output, DType::f32);
  const ref::StepCoefficients c{.x0_from_sample = 1.0f, .x0_clip = 1.0f, .next_from_x0 = 1.0f};
  ASSERT_EQ(kernels::launch_scheduler_step(
                {.c = c, .model_output = d_output.get<float>(), .sample = d_sample.get<float>(), .n = 2}, nullptr),
            cudaSuccess);
  const std::vector<float> got = d_sample.read();
  EXPECT_TRUE(std::isnan(got[0]));
  EXPECT_EQ(got[1], 1.0f);
}

TEST_F(DenoiseStepGpu, GaussianNoiseIsThePhiloxStreamOfTheCpu) {
  const int64_t n = 4 * 32 * 32 * 8 + 3;
  DeviceBuffer d_noise(std::vector<float>(n), DType::f32);
  ASSERT_EQ(kernels::launch_gaussian_noise(42, 7, d_noise.get<float>(), n, nullptr), cudaSuccess);
  std::vector<float> expected(n);
  ref::gaussian_noise(42, 7, expected.data(), n);
  // Same counters and transform; the device's logf/sinf/cosf differ from the host's by a
  // few ulp.
  const std::vector<float> got = d_noise.read();
  EXPECT_LE(max_rel_diff(got.data(), expected.data(), n), 1e-5);
}

// fmaf on both sides: the same single rounding, so bit for bit. SDXL's 4 channels at 16384
// pixels (a 128x128 latent), the widest 16 over an odd size, one channel of one pixel, a
// batch; in place and out of place.
TEST_F(DenoiseStepGpu, ChannelAffineMatchesReferenceExactly) {
  const struct {
    int64_t batch, channels, pixels;
  } shapes[] = {{1, 4, 128 * 128}, {2, ref::ChannelAffine::kMaxChannels, 13 * 7}, {1, 1, 1}, {3, 4, 8 * 12}};
  for (const auto& shape : shapes) {
    SCOPED_TRACE(testing::Message() << shape.batch << "x" << shape.channels << "x" << shape.pixels);
    ref::ChannelAffine affine{.channels = shape.channels};
    for (int64_t c = 0; c < shape.channels; ++c) {
      affine.scale[c] = 0.13025f / (0.5f + 0.25f * static_cast<float>(c));
      affine.shift[c] = 0.3f * static_cast<float>(c) - 1.7f;
    }
    const int64_t n = shape.batch * shape.channels * shape.pixels;
    const std::vector<float> x = pattern(n, 4.0f, 10, DType::f32);
    std::vector<float> expected(n);
    ref::channel_affine({.affine = affine, .x = x.data(), .out = expected.data(), .batch = shape.batch,
                         .pixels = shape.pixels});
    DeviceBuffer d_x(x, DType::f32), d_out(std::vector<float>(n), DType::f32);
    ASSERT_EQ(kernels::launch_channel_affine({.affine = affine, .x = d_x.get<float>(), .out = d_out.get<float>(),
                                              .batch = shape.batch, .pixels = shape.pixels},
                                             nullptr),
              cudaSuccess);
    EXPECT_EQ(d_out.read(), expected);
    ASSERT_EQ(kernels::launch_channel_affine({.affine = affine, .x = d_x.get<float>(), .out = d_x.get<float>(),
                                              .batch = shape.batch, .pixels = shape.pixels},
                                             nullptr),
              cudaSuccess);
    EXPECT_EQ(d_x.read(), expected);
  }
  float dummy = 0;
  ref::ChannelAffine wide{.channels = ref::ChannelAffine::kMaxChannels + 1};
  EXPECT_EQ(kernels::launch_channel_affine({.affine = wide, .x = &dummy, .out = &dummy, .batch = 1, .pixels = 1},
                                           nullptr),
            cudaErrorInvalidValue);
}

TEST_F(DenoiseStepGpu, CountsNanAndInfinity) {
  std::vector<float> x = pattern(100003, 1.0f, 9, DType::f32);
  DeviceBuffer d_clean(x, DType::f32);
  x[0] = NAN;
  x[5000] = INFINITY;
  x[100002] = -INFINITY;
  DeviceBuffer d_x(x, DType::f32);
  const unsigned zero = 0;
  DeviceBuffer d_count(&zero, sizeof(zero)), d_clean_count(&zero, sizeof(zero));
  ASSERT_EQ(kernels::launch_count_nonfinite(d_x.get<float>(), 100003, d_count.get<unsigned>(), nullptr), cudaSuccess);
  ASSERT_EQ(kernels::launch_count_nonfinite(d_clean.get<float>(), 100003, d_clean_count.get<unsigned>(), nullptr),
            cudaSuccess);
  unsigned count = 0, clean_count = 0;
  ASSERT_EQ(cudaMemcpy(&count, d_count.get<unsigned>(), sizeof(count), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(&clean_count, d_clean_count.get<unsigned>(), sizeof(count), cudaMemcpyDeviceToHost),
            cudaSuccess);
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(clean_count, 0u);
}

}  // namespace
}  // namespace genrt
