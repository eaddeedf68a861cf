#pragma once
// A 2-D convolution as checkpoints store it: <name>.weight [out, in, k, k] (PyTorch's
// Conv2d, kept as the [out, k, k, in] filter of NHWC images) and <name>.bias [out].

#include <string>

#include "runtime/backend/image_ops.h"
#include "runtime/models/named_weights.h"

namespace genrt::blocks {

struct Conv2d {
  Tensor weight;  // [out, kernel, kernel, in]
  Tensor bias;    // [out], or undefined
  ops::Conv2dParams params;

  void name_weights(NamedWeights& list, const std::string& name, int64_t in, int64_t out, int64_t kernel,
                    ops::Conv2dParams conv = {}, bool has_bias = true) {
    params = conv;
    list.push_back({.name = name + ".weight", .shape = {out, in, kernel, kernel}, .tensor = &weight,
                    .channels_first = true});
    if (has_bias) list.push_back({name + ".bias", {out}, &bias});
  }

  int64_t out_channels() const { return weight.dim(0); }

  // out [batch, out_h, out_w, out] of x [batch, h, w, in].
  void operator()(const Tensor& x, Tensor& out) const { ops::conv2d(x, weight, bias, params, out); }
};

// The padding that keeps a kernel's image size at stride 1 (3x3: 1).
inline ops::Conv2dParams same_padding(int64_t kernel) { return {.stride = 1, .padding = kernel / 2}; }

}  // namespace genrt::blocks
