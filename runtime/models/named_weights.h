#pragma once
// A model's weights by checkpoint name: the one list through which weights are loaded,
// sized for the memory plan, written as random checkpoints and moved to a device. Every
// model lists its tensors with named_weights(); quantized storage, adapters and
// tensor-parallel sharding attach here.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/tensor.h"

namespace genrt {

class DeviceRuntime;
class WeightStore;

struct NamedWeight {
  std::string name;  // the checkpoint's tensor name, e.g. model.layers.0.self_attn.q_proj.weight
  Shape shape;       // as stored in the checkpoint
  Tensor* tensor;    // where the model keeps it
  // Stored [in, out] (GPT-2's Conv1D); the model keeps the [out, in] transpose.
  bool transposed = false;
};

using NamedWeights = std::vector<NamedWeight>;

// Fills every tensor from `store` (name prefixed by `prefix`) as f32, checking its shape.
void load_named_weights(const WeightStore& store, const NamedWeights& weights, const std::string& prefix = "");

// Bytes the weights take in a device's weights region in `dtype`.
uint64_t weight_footprint(const NamedWeights& weights, DType dtype);

// Replaces every host tensor with its copy in `runtime`'s weights region in `dtype`, and
// logs the transfer rate under `model`.
void place_weights(DeviceRuntime& runtime, const NamedWeights& weights, DType dtype, std::string_view model);

}  // namespace genrt
