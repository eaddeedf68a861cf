#pragma once
// Writes safetensors files. Tensors are produced one at a time by a fill callback, so a
// multi-GB checkpoint never has to sit in memory whole.

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runtime/core/tensor.h"

namespace genrt {

struct TensorSpec {
  std::string name;
  Shape shape;
  DType dtype = DType::f32;
};

// Called once per spec, in order, with a zeroed contiguous CPU tensor to fill.
using TensorFill = std::function<void(size_t index, Tensor& out)>;

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                       const TensorFill& fill,
                       const std::map<std::string, std::string>& metadata = {});

struct NamedTensor {
  std::string name;
  Tensor tensor;  // contiguous, CPU
};
void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace genrt
