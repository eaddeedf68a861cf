#pragma once
// Op entries of the convolutional models (the UNet and the VAE): convolution, GroupNorm,
// upsampling and the channel concatenation of skip connections, over NHWC images
// [batch, height, width, channels] in the model's dtype, so that a row of pixels'
// channels is a token row for the linear layers and the attention between the
// convolutions. Same contract as ops.h: check, then run.

#include <cstdint>

#include "runtime/core/tensor.h"

namespace genrt::ops {

struct Conv2dParams {
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t extra_padding_end = 0;  // more zeros after the last row and column (see ref::conv2d)
};

// out [batch, out_h, out_w, out_channels] = conv2d(x [batch, h, w, in_channels]) with weight
// [out_channels, kernel, kernel, in_channels] and bias [out_channels] (or undefined); see
// ref::conv2d. A 1x1 convolution of stride 1 runs as a linear layer over the pixels; the
// others run through cuDNN on the GPU.
void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params, Tensor& out);

// out = GroupNorm(x + channel_add) * weight + bias, then SiLU when `silu`, over x, out
// [batch, h, w, channels] (or [batch, pixels, channels]); channel_add [batch, channels] may
// be undefined, as may weight and bias [channels]. out may alias x. See ref::group_norm.
struct GroupNormParams {
  int64_t groups = 32;
  float eps = 1e-5f;
  bool silu = false;
};
void group_norm(const Tensor& x, const Tensor& channel_add, const Tensor& weight, const Tensor& bias,
                const GroupNormParams& params, Tensor& out);

// out [batch, 2h, 2w, channels] = nearest-neighbour 2x upsampling of x [batch, h, w, channels].
void upsample_nearest2x(const Tensor& x, Tensor& out);

// out [..., ca + cb] = the channels of a [..., ca] then of b [..., cb], the leading
// dimensions equal: the UNet's skip connections joining its up path.
void concat_channels(const Tensor& a, const Tensor& b, Tensor& out);

}  // namespace genrt::ops
