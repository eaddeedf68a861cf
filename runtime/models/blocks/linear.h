#pragma once
// A dense layer as checkpoints store it: <name>.weight [out, in] and, optionally,
// <name>.bias [out]; or several such layers over the same input fused into one, whose
// output features are theirs one after another (q, k and v; gate and up), so they run as
// one GEMM.

#include <string>
#include <vector>

#include "runtime/backend/ops.h"
#include "runtime/models/named_weights.h"

namespace genrt::blocks {

// How a checkpoint lays out a dense layer's weight.
enum class WeightLayout {
  out_in,  // torch.nn.Linear: [out, in]
  in_out,  // GPT-2's Conv1D: [in, out], kept transposed
};

struct Linear {
  Tensor weight;  // [out, in]
  Tensor bias;    // [out], or undefined

  // Lists <name>.weight (and <name>.bias) for a layer from `in` to `out` features.
  void name_weights(NamedWeights& list, const std::string& name, int64_t in, int64_t out, bool has_bias,
                    WeightLayout layout = WeightLayout::out_in) {
    const bool conv1d = layout == WeightLayout::in_out;
    list.push_back({name + ".weight", conv1d ? Shape{in, out} : Shape{out, in}, &weight, conv1d});
    if (has_bias) list.push_back({name + ".bias", {out}, &bias});
  }

  // Lists the parts of a fused layer from `in` features: <part.name>.weight (and .bias)
  // fill rows [part's first, + part.rows) of weight (and bias), parts in order.
  void name_fused_weights(NamedWeights& list, const std::vector<FusedPart>& parts, int64_t in, bool has_bias) {
    std::vector<FusedPart> weights, biases;
    for (const FusedPart& part : parts) {
      weights.push_back({part.name + ".weight", part.rows});
      biases.push_back({part.name + ".bias", part.rows});
    }
    name_fused_rows(list, weights, {in}, &weight);
    if (has_bias) name_fused_rows(list, biases, {}, &bias);
  }

  // y = x W^T + b.
  void operator()(const Tensor& x, Tensor& y) const { ops::linear(x, weight, bias, y); }

  // Output features [begin, end): a view, for the parts of a fused projection.
  Linear rows(int64_t begin, int64_t end) const {
    return {weight.slice(begin, end), bias.defined() ? bias.slice(begin, end) : Tensor()};
  }
};

}  // namespace genrt::blocks
