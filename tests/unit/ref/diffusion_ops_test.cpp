// The reference ops of the diffusion path, each against a hand-computed case.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/ref/channel_affine.h"
#include "kernels/ref/dense_attention.h"
#include "kernels/ref/guidance.h"
#include "kernels/ref/patchify.h"
#include "kernels/ref/philox.h"
#include "kernels/ref/scheduler_step.h"
#include "runtime/backend/diffusion_ops.h"
#include "tests/test_util.h"

namespace genrt::ref {
namespace {

TEST(RefDenseAttention, EveryQuerySeesEveryKeyOfItsOwnSequenceOnly) {
  // Batch 2, 2 tokens, 1 head, head_dim 1. Zero queries: uniform weights, the mean of V.
  const float q[4] = {0, 0, 0, 0}, k[4] = {1, 2, 3, 4}, v[4] = {10, 20, 100, 300};
  float out[4];
  dense_attention({.q = q, .k = k, .v = v, .out = out, .batch = 2, .tokens = 2, .kv_tokens = 2, .n_heads = 1, .n_kv_heads = 1,
                   .head_dim = 1, .scale = 1.0f});
  EXPECT_FLOAT_EQ(out[0], 15.0f);
  EXPECT_FLOAT_EQ(out[1], 15.0f);  // non-causal: the first token sees the second
  EXPECT_FLOAT_EQ(out[2], 200.0f);
  // A large query picks the key it aligns with.
  const float q2[2] = {50, -50}, k2[2] = {1, -1}, v2[2] = {7, 9};
  float out2[2];
  dense_attention({.q = q2, .k = k2, .v = v2, .out = out2, .batch = 1, .tokens = 2, .kv_tokens = 2, .n_heads = 1, .n_kv_heads = 1,
                   .head_dim = 1, .scale = 1.0f});
  EXPECT_NEAR(out2[0], 7.0f, 1e-4f);
  EXPECT_NEAR(out2[1], 9.0f, 1e-4f);
}

TEST(RefPatchify, ConvOrderInDitOrderOutAndBack) {
  // One 2-channel 4x4 image in 2x2 patches.
  const PatchShape s{.batch = 1, .channels = 2, .height = 4, .width = 4, .patch = 2};
  std::vector<float> image(32);
  std::iota(image.begin(), image.end(), 0.0f);
  std::vector<float> tokens(32);
  patchify(image.data(), tokens.data(), s);
  // Token 1 is the top-right patch; its row is channel 0's 2x2 block, then channel 1's.
  const float token1[8] = {2, 3, 6, 7, 18, 19, 22, 23};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(tokens[8 + i], token1[i]) << i;
  // unpatchify reads (py, px, c): the same pixel sits at (py * 2 + px) * 2 + c.
  std::vector<float> dit_tokens(32), back(32);
  for (int t = 0; t < 4; ++t) {
    for (int c = 0; c < 2; ++c) {
      for (int p = 0; p < 4; ++p) dit_tokens[t * 8 + p * 2 + c] = tokens[t * 8 + c * 4 + p];
    }
  }
  unpatchify(dit_tokens.data(), back.data(), s);
  EXPECT_EQ(back, image);
}

TEST(RefGuidance, CombinesTheHalvesAndDropsTheSigmaChannels) {
  // Batch 1, 1 noise channel + 1 sigma channel, 2 pixels: cond then uncond sample.
  const float model_output[8] = {3, 5, 99, 99, 1, 1, 99, 99};
  float eps[2];
  guidance_combine({.model_output = model_output, .eps = eps, .batch = 1, .channels = 1, .out_channels = 2,
                    .pixels = 2, .guidance = 4.0f, .guided = true});
  EXPECT_FLOAT_EQ(eps[0], 9.0f);  // 1 + 4 * (3 - 1)
  EXPECT_FLOAT_EQ(eps[1], 17.0f);
  guidance_combine({.model_output = model_output, .eps = eps, .batch = 1, .channels = 1, .out_channels = 2,
                    .pixels = 2, .guided = false});
  EXPECT_FLOAT_EQ(eps[0], 3.0f);
  const float latents[2] = {1, -2};
  float input[4];
  guidance_input(latents, 0.5f, input, 2, 2);
  EXPECT_EQ(std::vector<float>(input, input + 4), (std::vector<float>{0.5f, -1, 0.5f, -1}));
}

TEST(RefSchedulerStep, AppliesEveryCoefficientAndKeepsTheX0History) {
  float sample[2] = {1, 10}, x0[2] = {100, 200};
  const float output[2] = {2, 4}, noise[2] = {1, -1};
  const StepCoefficients c{.x0_from_sample = 1, .x0_from_output = -1, .x0_clip = 5, .next_from_x0 = 2,
                           .next_from_sample = 3, .next_from_output = 4, .next_from_prev_x0 = 0.5f,
                           .next_from_noise = 10};
  scheduler_step({.c = c, .model_output = output, .sample = sample, .x0 = x0, .noise = noise, .n = 2});
  // x0 = clamp(x - out): -1 and clamp(6) = 5.
  EXPECT_FLOAT_EQ(sample[0], 2 * -1 + 3 * 1 + 4 * 2 + 0.5f * 100 + 10);
  EXPECT_FLOAT_EQ(sample[1], 2 * 5 + 3 * 10 + 4 * 4 + 0.5f * 200 - 10);
  EXPECT_FLOAT_EQ(x0[0], -1);
  EXPECT_FLOAT_EQ(x0[1], 5);
}

TEST(RefChannelAffine, ScalesAndShiftsEachChannelOfEachImage) {
  // Batch 2, 2 channels, 3 pixels: channel 0 * 2 + 1, channel 1 * -0.5 + 10.
  ChannelAffine affine{.channels = 2};
  affine.scale[0] = 2, affine.shift[0] = 1, affine.scale[1] = -0.5f, affine.shift[1] = 10;
  const float x[12] = {0, 1, 2, 4, 6, 8, -1, -2, -3, 2, 0, -2};
  float out[12];
  channel_affine({.affine = affine, .x = x, .out = out, .batch = 2, .pixels = 3});
  EXPECT_EQ(std::vector<float>(out, out + 12), (std::vector<float>{1, 3, 5, 8, 7, 6, -1, -3, -5, 9, 10, 11}));
  // One rounding, as on the GPU: (1 + 2^-23)^2 - (1 + 2^-22) is 2^-46, which a rounded
  // product would have lost.
  ChannelAffine one{.channels = 1};
  one.scale[0] = 1.0f + 0x1p-23f, one.shift[0] = -(1.0f + 0x1p-22f);
  const float y = 1.0f + 0x1p-23f;
  float z = 0;
  channel_affine({.affine = one, .x = &y, .out = &z, .batch = 1, .pixels = 1});
  EXPECT_EQ(z, 0x1p-46f);
}

TEST(ChannelAffineOp, ChecksItsTensorsAndRunsInPlace) {
  ChannelAffine affine{.channels = 2};
  affine.scale[0] = 3, affine.shift[1] = -1;
  Tensor x = Tensor::zeros({1, 2, 1, 2}, DType::f32);
  std::vector<float> values{1, 2, 3, 4};
  std::copy(values.begin(), values.end(), x.data<float>());
  ops::channel_affine(x, affine, x);
  EXPECT_EQ(std::vector<float>(x.data<float>(), x.data<float>() + 4), (std::vector<float>{3, 6, -1, -1}));
  Tensor three = Tensor::zeros({1, 3, 1, 2}, DType::f32);
  EXPECT_ERROR(ops::channel_affine(three, affine, three),
               "channel_affine: x [1, 3, 1, 2] must be [batch, 2, height, width]");
  Tensor out = Tensor::zeros({2, 2, 1, 2}, DType::f32);
  EXPECT_ERROR(ops::channel_affine(x, affine, out), "channel_affine: out");
  ChannelAffine wide{.channels = ChannelAffine::kMaxChannels + 1};
  EXPECT_ERROR(ops::channel_affine(x, wide, x), "channel_affine: 17 channels of coefficients, expected 1 to 16");
}

TEST(RefPhilox, KnownAnswersOfRandom123) {
  // Random123's kat_vectors for philox4x32_10.
  const Philox4 zero = philox4x32_10({{0, 0, 0, 0}}, 0);
  EXPECT_EQ(zero.v[0], 0x6627e8d5u);
  EXPECT_EQ(zero.v[1], 0xe169c58du);
  EXPECT_EQ(zero.v[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.v[3], 0x9b00dbd8u);
  const Philox4 ones = philox4x32_10({{~0u, ~0u, ~0u, ~0u}}, ~0ull);
  EXPECT_EQ(ones.v[0], 0x408f276du);
  EXPECT_EQ(ones.v[1], 0x41c83b0eu);
  EXPECT_EQ(ones.v[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.v[3], 0x6d5451fdu);
}

TEST(RefPhilox, GaussianNoiseIsStandardNormalAndSeeded) {
  constexpr int64_t n = 1 << 16;
  std::vector<float> a(n), b(n), other(n);
  gaussian_noise(42, 1, a.data(), n);
  gaussian_noise(42, 1, b.data(), n);
  gaussian_noise(42, 2, other.data(), n);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
  double sum = 0, sum_sq = 0;
  for (float v : a) sum += v, sum_sq += static_cast<double>(v) * v;
  EXPECT_NEAR(sum / n, 0.0, 0.02);  // 5 standard errors of the mean
  EXPECT_NEAR(sum_sq / n, 1.0, 0.03);
  // Any element on its own: a counter-based stream.
  EXPECT_EQ(philox_normal(42, 1, 12345), a[12345]);
}

}  // namespace
}  // namespace genrt::ref
