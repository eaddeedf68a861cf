#pragma once
// The norms as checkpoints store them: <name>.weight (and LayerNorm's <name>.bias).

#include <string>

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

}  // namespace genrt::blocks
