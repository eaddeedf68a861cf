#pragma once
// The norms as checkpoints store them: <name>.weight (and LayerNorm's and GroupNorm's
// <name>.bias).

#include <string>

#include "runtime/backend/image_ops.h"
#include "runtime/models/named_weights.h"

namespace genrt::blocks {

struct RmsNorm {
  Tensor weight;  // [dim]
  void name_weights(NamedWeights& list, const std::string& name, int64_t dim) {
    list.push_back({name + ".weight", {dim}, &weight});
  }
};

struct LayerNorm {
  Tensor weight, bias;  // [dim]
  void name_weights(NamedWeights& list, const std::string& name, int64_t dim) {
    list.push_back({name + ".weight", {dim}, &weight});
    list.push_back({name + ".bias", {dim}, &bias});
  }
};

// torch.nn.GroupNorm over NHWC images, with its group count and eps (not in checkpoints).
struct GroupNorm {
  Tensor weight, bias;  // [channels]
  ops::GroupNormParams params;
  void name_weights(NamedWeights& list, const std::string& name, int64_t channels, int64_t groups, float eps) {
    params = {.groups = groups, .eps = eps};
    list.push_back({name + ".weight", {channels}, &weight});
    list.push_back({name + ".bias", {channels}, &bias});
  }

  // out = GroupNorm(x + channel_add), then SiLU when `silu`; channel_add [batch, channels]
  // may be undefined.
  void operator()(const Tensor& x, const Tensor& channel_add, bool silu, Tensor& out) const {
    ops::GroupNormParams p = params;
    p.silu = silu;
    ops::group_norm(x, channel_add, weight, bias, p, out);
  }
};

}  // namespace genrt::blocks
