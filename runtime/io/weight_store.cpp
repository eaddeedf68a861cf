#include "runtime/io/weight_store.h"

#include <spdlog/spdlog.h>

#include "runtime/io/json_file.h"

namespace genrt {

WeightStore WeightStore::open_dir(const std::filesystem::path& dir) {
  WeightStore store;
  store.dir_ = dir;
  // transformers names its weights model.safetensors, diffusers diffusion_pytorch_model.
  std::string stem = "model";
  if (!std::filesystem::exists(dir / "model.safetensors") &&
      !std::filesystem::exists(dir / "model.safetensors.index.json") &&
      (std::filesystem::exists(dir / "diffusion_pytorch_model.safetensors") ||
       std::filesystem::exists(dir / "diffusion_pytorch_model.safetensors.index.json"))) {
    stem = "diffusion_pytorch_model";
  }
  const auto index_path = dir / (stem + ".safetensors.index.json");
  const auto single_path = dir / (stem + ".safetensors");
  std::map<std::string, std::string> listed;  // tensor -> shard file, from the index
  std::vector<std::string> files;
  if (std::filesystem::exists(index_path)) {
    const nlohmann::json index = read_json_file(index_path);
    const auto map = index.find("weight_map");
    GENRT_CHECK(index.is_object() && map != index.end() && map->is_object(),
                "{}: missing 'weight_map' object", index_path.string());
    for (const auto& [name, file] : map->items()) {
      GENRT_CHECK(file.is_string(), "{}: weight_map['{}'] is not a file name", index_path.string(),
                  name);
      const std::string shard = file.get<std::string>();
      GENRT_CHECK(shard.find('/') == std::string::npos && shard != ".." && shard != ".",
                  "{}: shard name '{}' must be a plain file name", index_path.string(), shard);
      listed[name] = shard;
      if (std::find(files.begin(), files.end(), shard) == files.end()) files.push_back(shard);
    }
  } else if (std::filesystem::exists(single_path)) {
    files.push_back(single_path.filename().string());
  } else {
    fail("{}: no model.safetensors or model.safetensors.index.json", dir.string());
  }

  for (const std::string& file : files) {
    spdlog::debug("opening {}", (dir / file).string());
    store.shards_.push_back(SafetensorsFile::open(dir / file));
    const size_t shard = store.shards_.size() - 1;
    for (const auto& [name, entry] : store.shards_.back().entries()) {
      GENRT_CHECK(store.shard_of_.emplace(name, shard).second,
                  "{}: tensor '{}' appears in more than one shard", dir.string(), name);
    }
  }
  for (const auto& [name, file] : listed) {
    const auto it = store.shard_of_.find(name);
    GENRT_CHECK(it != store.shard_of_.end() && store.shards_[it->second].path().filename() == file,
                "{}: the index lists tensor '{}' in {}, but it is not there", dir.string(), name,
                file);
  }
  return store;
}

Tensor WeightStore::get(const std::string& name) const {
  const auto it = shard_of_.find(name);
  GENRT_CHECK(it != shard_of_.end(), "{}: missing tensor '{}'", dir_.string(), name);
  return shards_[it->second].tensor(name);
}

Tensor WeightStore::get(const std::string& name, const Shape& shape) const {
  Tensor t = get(name);
  GENRT_CHECK(t.shape() == shape, "{}: tensor '{}' has shape {}, but {} implies {}", dir_.string(), name,
              shape_string(t.shape()), (dir_ / "config.json").string(), shape_string(shape));
  return t;
}

std::map<std::string, int> WeightStore::dtype_counts() const {
  std::map<std::string, int> counts;
  for (const auto& shard : shards_) {
    for (const auto& [name, entry] : shard.entries()) ++counts[entry.dtype];
  }
  return counts;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, shard] : shard_of_) out.push_back(name);
  return out;
}

uint64_t WeightStore::total_bytes() const {
  uint64_t bytes = 0;
  for (const auto& shard : shards_) {
    for (const auto& [name, entry] : shard.entries()) bytes += entry.end - entry.begin;
  }
  return bytes;
}

}  // namespace genrt
