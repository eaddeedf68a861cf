#include "runtime/models/bert/pooling.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

namespace {

Pooling parse_pooling(const std::filesystem::path& dir) {
  Pooling pooling;
  const auto modules_path = dir / "modules.json";
  if (!std::filesystem::is_regular_file(modules_path)) return pooling;
  const nlohmann::json modules = read_json_file(modules_path);
  GENRT_CHECK(modules.is_array(), "{}: expected a list of modules", modules_path.string());
  for (const auto& module : modules) {
    const std::string type = module.value("type", "");
    if (type == "sentence_transformers.models.Normalize") pooling.normalize = true;
    if (type != "sentence_transformers.models.Pooling") continue;
    const auto config_path = dir / module.value("path", "") / "config.json";
    const nlohmann::json config = read_json_file(config_path);
    int modes = 0;
    for (const auto& [field, value] : config.items()) {
      if (!field.starts_with("pooling_mode_") || !value.is_boolean() || !value.get<bool>()) continue;
      ++modes;
      if (field == "pooling_mode_cls_token") {
        pooling.mode = PoolingMode::cls;
      } else if (field == "pooling_mode_mean_tokens") {
        pooling.mode = PoolingMode::mean;
      } else if (field == "pooling_mode_lasttoken") {
        pooling.mode = PoolingMode::last;
      } else {
        fail("{}: {} is not supported (genrt pools by the CLS token, the mean or the last token)",
             config_path.string(), field);
      }
    }
    GENRT_CHECK(modes == 1, "{}: {} pooling modes are set; genrt takes exactly one", config_path.string(), modes);
  }
  return pooling;
}

}  // namespace

const char* pooling_name(PoolingMode mode) {
  switch (mode) {
    case PoolingMode::cls: return "cls";
    case PoolingMode::mean: return "mean";
    case PoolingMode::last: return "last";
  }
  return "?";
}

PoolingMode parse_pooling_mode(const std::string& name) {
  for (PoolingMode mode : {PoolingMode::cls, PoolingMode::mean, PoolingMode::last}) {
    if (name == pooling_name(mode)) return mode;
  }
  fail("pooling '{}': expected cls, mean or last", name);
}

Pooling read_pooling(const std::filesystem::path& dir) {
  try {
    return parse_pooling(dir);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed sentence-transformers config: {}", dir.string(), e.what());
  }
}

std::vector<float> pool(const Tensor& hidden, const Pooling& pooling) {
  const int64_t tokens = hidden.dim(0), dim = hidden.dim(1);
  GENRT_CHECK(tokens > 0, "pooling needs at least one token");
  const float* h = hidden.data<float>();
  std::vector<float> out(static_cast<size_t>(dim), 0.0f);
  if (pooling.mode == PoolingMode::mean) {
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t d = 0; d < dim; ++d) out[d] += h[t * dim + d];
    }
    for (float& v : out) v /= static_cast<float>(tokens);
  } else {
    const int64_t row = pooling.mode == PoolingMode::cls ? 0 : tokens - 1;
    std::copy(h + row * dim, h + (row + 1) * dim, out.begin());
  }
  if (pooling.normalize) {
    double norm = 0;
    for (float v : out) norm += double(v) * v;
    // As torch.nn.functional.normalize: divide by max(norm, 1e-12).
    const auto scale = static_cast<float>(1.0 / std::max(std::sqrt(norm), 1e-12));
    for (float& v : out) v *= scale;
  }
  return out;
}

}  // namespace genrt
