#include <gtest/gtest.h>

#include <cmath>

#include "kernels/ref/activations.h"
#include "kernels/ref/argmax.h"
#include "kernels/ref/softmax.h"

using genrt::ref::Activation;

TEST(RefSwiGlu, SiluOfTheGateHalfTimesTheUpHalf) {
  // Two rows of a fused [2, 2 * 3] gate | up projection.
  const float gate_up[12] = {0, 1, -2, 5, 2, 1,  //
                             3, 0, 0, -1, 7, 7};
  float out[6];
  genrt::ref::activation({.op = Activation::swiglu, .x = gate_up, .out = out, .n = 6, .cols = 3});
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], 2.0f / (1 + std::exp(-1.0f)), 1e-6f);
  EXPECT_NEAR(out[2], -2.0f / (1 + std::exp(2.0f)), 1e-6f);
  EXPECT_NEAR(out[3], -3.0f / (1 + std::exp(-3.0f)), 1e-6f);
  EXPECT_EQ(out[4], 0.0f);
  EXPECT_EQ(out[5], 0.0f);
}

TEST(RefGeGlu, ValueHalfTimesGeluOfTheGateHalf) {
  // One row of a fused [1, 2 * 3] value | gate projection, as diffusers' GEGLU chunks it;
  // gelu_erf(-1, 0.5, 2) from torch.nn.functional.gelu in float64.
  const float x[6] = {2, -3, 0.5f, -1, 0.5f, 2};
  float out[3];
  genrt::ref::activation({.op = Activation::geglu, .x = x, .out = out, .n = 3, .cols = 3});
  EXPECT_NEAR(out[0], 2 * -0.15865526f, 1e-6f);
  EXPECT_NEAR(out[1], -3 * 0.34573123f, 1e-6f);
  EXPECT_NEAR(out[2], 0.5f * 1.95449972f, 1e-6f);
}

TEST(RefGelu, ErfTanhAndQuickMatchPyTorchValues) {
  // torch.nn.functional.gelu(torch.tensor([-1., 0.5, 2.]), approximate=...), and
  // transformers' quick_gelu, x * torch.sigmoid(1.702 * x), in float64
  const float x[3] = {-1.0f, 0.5f, 2.0f};
  float erf_out[3], tanh_out[3], quick_out[3];
  genrt::ref::activation({.op = Activation::gelu_erf, .x = x, .out = erf_out, .n = 3});
  genrt::ref::activation({.op = Activation::gelu_tanh, .x = x, .out = tanh_out, .n = 3});
  genrt::ref::activation({.op = Activation::gelu_quick, .x = x, .out = quick_out, .n = 3});
  EXPECT_NEAR(erf_out[0], -0.15865526f, 1e-6f);
  EXPECT_NEAR(erf_out[1], 0.34573123f, 1e-6f);
  EXPECT_NEAR(erf_out[2], 1.95449972f, 1e-6f);
  EXPECT_NEAR(tanh_out[0], -0.15880801f, 1e-6f);
  EXPECT_NEAR(tanh_out[1], 0.34571401f, 1e-6f);
  EXPECT_NEAR(tanh_out[2], 1.95459771f, 1e-6f);
  EXPECT_NEAR(quick_out[0], -0.15420423f, 1e-6f);
  EXPECT_NEAR(quick_out[1], 0.35038844f, 1e-6f);
  EXPECT_NEAR(quick_out[2], 1.93565862f, 1e-6f);
}

TEST(RefRelu, ZeroBelowZeroAndNanKept) {
  const float x[4] = {-1.5f, 0.0f, 2.25f, NAN};
  float out[4];
  genrt::ref::activation({.op = Activation::relu, .x = x, .out = out, .n = 4});
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_EQ(out[2], 2.25f);
  EXPECT_TRUE(std::isnan(out[3]));
}

TEST(RefSoftmax, RowsSumToOneWithoutOverflow) {
  float x[2 * 3] = {1000, 1000, 1000, 0, std::log(2.0f), std::log(5.0f)};
  genrt::ref::softmax(x, 2, 3);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(x[i], 1.0f / 3, 1e-6f);
  EXPECT_NEAR(x[3], 1.0f / 8, 1e-6f);
  EXPECT_NEAR(x[4], 2.0f / 8, 1e-6f);
  EXPECT_NEAR(x[5], 5.0f / 8, 1e-6f);
}

TEST(RefArgmax, FirstMaximumWinsAndNanNever) {
  const float x[5] = {1, 7, 3, 7, 2};
  EXPECT_EQ(genrt::ref::argmax(x, 5), 1);
  const float with_nan[3] = {NAN, 2, 1};
  EXPECT_EQ(genrt::ref::argmax(with_nan, 3), 1);
  const float all_nan[3] = {NAN, NAN, NAN}, nan_then_inf[2] = {NAN, -INFINITY};
  EXPECT_EQ(genrt::ref::argmax(all_nan, 3), 0);
  EXPECT_EQ(genrt::ref::argmax(nan_then_inf, 2), 1);
  const float one[1] = {-5};
  EXPECT_EQ(genrt::ref::argmax(one, 1), 0);
}
