#pragma once
#include <cstdint>

namespace genrt::ref {

// A 2-D convolution of NHWC images by OHWI filters, the layouts in which cuDNN runs
// convolutions on tensor cores (and in which the UNet's attention reads pixels as tokens):
//
//   out[b, y, x, o] = bias[o] + sum over ky, kx, i of
//                     in[b, y * stride + ky - padding, x * stride + kx - padding, i] * weight[o, ky, kx, i]
//
// with zeros outside the image (PyTorch's Conv2d with padding_mode "zeros"): `padding` rows
// and columns on every side, and `extra_padding_end` more below the last row and right of
// the last column (diffusers' Downsample2D pads (0, 1, 0, 1) before a convolution without
// padding).
struct Conv2dShape {
  int64_t batch = 0;
  int64_t height = 0, width = 0;  // of the input
  int64_t in_channels = 0, out_channels = 0;
  int64_t kernel = 1;  // square
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t extra_padding_end = 0;

  int64_t out_height() const { return (height + 2 * padding + extra_padding_end - kernel) / stride + 1; }
  int64_t out_width() const { return (width + 2 * padding + extra_padding_end - kernel) / stride + 1; }
};

void conv2d(const Conv2dShape& shape, const float* in,  // [batch, height, width, in_channels]
            const float* weight,                         // [out_channels, kernel, kernel, in_channels]
            const float* bias,                           // [out_channels] or nullptr
            float* out);                                 // [batch, out_height, out_width, out_channels]

}  // namespace genrt::ref
