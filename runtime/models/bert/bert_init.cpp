#include "runtime/models/bert/bert_init.h"

#include <map>

#include <fmt/ranges.h>

#include "runtime/core/error.h"
#include "runtime/models/placement.h"
#include "runtime/models/random_weights.h"

namespace genrt {

namespace {

BertConfig make_preset(int64_t hidden, int64_t layers, int64_t heads, int64_t intermediate) {
  return {.architecture = "BertModel",
          .vocab_size = 30522,
          .hidden_size = hidden,
          .num_hidden_layers = layers,
          .num_attention_heads = heads,
          .intermediate_size = intermediate,
          .max_position_embeddings = 512,
          .type_vocab_size = 2};
}

const std::map<std::string, BertConfig>& presets() {
  static const std::map<std::string, BertConfig> table = {
      {"bert-base", make_preset(768, 12, 12, 3072)},
      {"bert-tiny", make_preset(128, 2, 2, 512)},
  };
  return table;
}

}  // namespace

std::vector<std::string> bert_preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, config] : presets()) names.push_back(name);
  return names;
}

BertConfig bert_preset(const std::string& name) {
  const auto it = presets().find(name);
  GENRT_CHECK(it != presets().end(), "unknown BERT preset '{}': expected one of {}", name,
              fmt::join(bert_preset_names(), ", "));
  return it->second;
}

BertModel random_bert_model(const BertConfig& config, uint64_t seed, const DeviceOptions& device) {
  BertWeights w;
  uint64_t index = 0;
  for (const NamedWeight& n : bert_named_weights(config, w, "")) {
    if (n.owns_tensor()) *n.tensor = Tensor::zeros(n.tensor_shape(), DType::f32);
    Tensor rows = n.rows_of(*n.tensor);
    fill_random_weight(n.name, seed, index++, rows);
  }
  BertModel model(config, std::move(w), "");
  if (device.device == Device::cuda) place_alone(model, device);
  return model;
}

}  // namespace genrt
