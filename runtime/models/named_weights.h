#pragma once
// A model's weights by checkpoint name: the one list through which weights are loaded,
// sized for the memory plan, written as random checkpoints and moved to a device. Every
// model lists its tensors with named_weights(); quantized storage, adapters and
// tensor-parallel sharding attach here. Projections that run as one GEMM (q, k and v;
// gate and up) are fused here too: each checkpoint tensor fills its rows of one tensor.

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
  // Stored [out, in, kh, kw] (PyTorch's Conv2d); the model keeps [out, kh, kw, in], the
  // filter layout of convolutions over NHWC images (see ops::conv2d).
  bool channels_first = false;
  // > 0: the checkpoint tensor is rows [first_row, first_row + shape[0]) of *tensor, whose
  // first dimension is fused_rows; the part with first_row 0 stands for the whole tensor
  // (it is allocated, sized and moved once). 0: *tensor is the checkpoint tensor alone.
  int64_t fused_rows = 0;
  int64_t first_row = 0;

  // The shape of the checkpoint tensor(s) behind *tensor: `shape` with fused_rows rows when fused.
  Shape tensor_shape() const;
  // The shape of *tensor as the model keeps it (transposed or channels last).
  Shape kept_shape() const;
  // Whether this entry stands for *tensor as a whole (it is not a later part of a fused one).
  bool owns_tensor() const { return first_row == 0; }
  // The rows of *tensor that hold this checkpoint tensor (all of it unless fused).
  Tensor rows_of(const Tensor& tensor) const;
};

using NamedWeights = std::vector<NamedWeight>;

// Lists `parts` (checkpoint names and their rows, in order) as the rows of one tensor.
struct FusedPart {
  std::string name;
  int64_t rows = 0;
};
void name_fused_rows(NamedWeights& list, const std::vector<FusedPart>& parts, const Shape& row_shape,
                     Tensor* tensor);

// Fills every tensor from `store` (name prefixed by `prefix`) as f32, checking its shape.
void load_named_weights(const WeightStore& store, const NamedWeights& weights, const std::string& prefix = "");

// Values in the checkpoint tensors of `weights`.
int64_t parameter_count(const NamedWeights& weights);

// Bytes the weights take in a device's weights region in `dtype`.
uint64_t weight_footprint(const NamedWeights& weights, DType dtype);

// Replaces every host tensor with its copy in `runtime`'s weights region in `dtype`, and
// logs the transfer rate under `model`.
void place_weights(DeviceRuntime& runtime, const NamedWeights& weights, DType dtype, std::string_view model);

}  // namespace genrt
