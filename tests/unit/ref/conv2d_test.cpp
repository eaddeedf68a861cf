#include <gtest/gtest.h>

#include <vector>

#include "kernels/ref/conv2d.h"

namespace {

using genrt::ref::Conv2dShape;

// Integer images and filters keep every sum exact, so the cases compare with ==.
std::vector<float> ramp(int64_t n, int modulus) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % modulus - modulus / 2);
  return v;
}

// The definition in conv2d.h, term by term: zeros wherever the index leaves the image.
float direct(const Conv2dShape& s, const std::vector<float>& in, const std::vector<float>& w, int64_t b, int64_t y,
             int64_t x, int64_t o) {
  float sum = 0.0f;
  for (int64_t ky = 0; ky < s.kernel; ++ky) {
    for (int64_t kx = 0; kx < s.kernel; ++kx) {
      const int64_t iy = y * s.stride + ky - s.padding, ix = x * s.stride + kx - s.padding;
      if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) continue;
      for (int64_t i = 0; i < s.in_channels; ++i) {
        sum += in[((b * s.height + iy) * s.width + ix) * s.in_channels + i] *
               w[((o * s.kernel + ky) * s.kernel + kx) * s.in_channels + i];
      }
    }
  }
  return sum;
}

void expect_definition(const Conv2dShape& s) {
  const std::vector<float> in = ramp(s.batch * s.height * s.width * s.in_channels, 7);
  const std::vector<float> w = ramp(s.out_channels * s.kernel * s.kernel * s.in_channels, 5);
  std::vector<float> out(static_cast<size_t>(s.batch * s.out_height() * s.out_width() * s.out_channels), -1e9f);
  genrt::ref::conv2d(s, in.data(), w.data(), nullptr, out.data());
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t y = 0; y < s.out_height(); ++y) {
      for (int64_t x = 0; x < s.out_width(); ++x) {
        for (int64_t o = 0; o < s.out_channels; ++o) {
          ASSERT_EQ(out[((b * s.out_height() + y) * s.out_width() + x) * s.out_channels + o],
                    direct(s, in, w, b, y, x, o))
              << "b " << b << " y " << y << " x " << x << " o " << o;
        }
      }
    }
  }
}

}  // namespace

TEST(RefConv2d, SymmetricPaddingAndStrides) {
  expect_definition({.batch = 2, .height = 5, .width = 6, .in_channels = 3, .out_channels = 4, .kernel = 3,
                     .stride = 1, .padding = 1});
  expect_definition({.batch = 1, .height = 7, .width = 5, .in_channels = 2, .out_channels = 3, .kernel = 3,
                     .stride = 2, .padding = 1});
}

// diffusers' Downsample2D: pad (0, 1, 0, 1), then a 3x3 convolution of stride 2 without
// padding: an even side halves, and the last output row and column see one row of zeros.
TEST(RefConv2d, ExtraPaddingAtTheEndIsTheDownsamplersPad) {
  const Conv2dShape s{.batch = 1, .height = 8, .width = 6, .in_channels = 2, .out_channels = 3, .kernel = 3,
                      .stride = 2, .padding = 0, .extra_padding_end = 1};
  EXPECT_EQ(s.out_height(), 4);
  EXPECT_EQ(s.out_width(), 3);
  expect_definition(s);
  expect_definition({.batch = 2, .height = 5, .width = 7, .in_channels = 3, .out_channels = 2, .kernel = 3,
                     .stride = 2, .padding = 0, .extra_padding_end = 1});
}

TEST(RefConv2d, OneByOneWithBias) {
  const Conv2dShape s{.batch = 1, .height = 1, .width = 2, .in_channels = 2, .out_channels = 2, .kernel = 1};
  const float in[] = {1, 2, 3, 4}, w[] = {1, 1, 2, -1}, bias[] = {10, 20};
  float out[4];
  genrt::ref::conv2d(s, in, w, bias, out);
  EXPECT_EQ(out[0], 13.0f);
  EXPECT_EQ(out[1], 20.0f);
  EXPECT_EQ(out[2], 17.0f);
  EXPECT_EQ(out[3], 22.0f);
}
