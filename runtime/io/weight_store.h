#pragma once
// The named tensors of a Hugging Face model directory: one model.safetensors, or the
// shards listed by model.safetensors.index.json (diffusers: diffusion_pytorch_model.*).

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "runtime/io/safetensors.h"

namespace genrt {

class WeightStore {
 public:
  static WeightStore open_dir(const std::filesystem::path& dir);

  bool contains(const std::string& name) const { return shard_of_.count(name) != 0; }
  // The tensor in its stored dtype; the error names the missing tensor and the directory.
  Tensor get(const std::string& name) const;
  // The same, checked to have `shape`, the one the model's config implies.
  Tensor get(const std::string& name, const Shape& shape) const;
  // Stored dtype names ("BF16", ...) and how many tensors have each.
  std::map<std::string, int> dtype_counts() const;
  std::vector<std::string> names() const;
  uint64_t total_bytes() const;

 private:
  std::filesystem::path dir_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, size_t> shard_of_;  // tensor name -> index into shards_
};

}  // namespace genrt
