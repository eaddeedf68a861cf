#include "runtime/models/llama/llama_init.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/safetensors_writer.h"
#include "runtime/models/placement.h"
#include "runtime/models/random_weights.h"
#include "runtime/tokenizer/tokenizer_files.h"

namespace genrt {

namespace {

LlamaConfig make_preset(int64_t hidden, int64_t intermediate, int64_t layers, int64_t heads,
                        int64_t kv_heads, int64_t vocab, int64_t context, double rope_theta) {
  LlamaConfig c;
  c.architecture = "LlamaForCausalLM";
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = hidden / heads;
  c.vocab_size = vocab;
  c.max_position_embeddings = context;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = rope_theta;
  // Ids of the tokenizer init-model writes: <|begin_of_text|>, then <|end_of_text|> and
  // <|eot_id|> (the end of a chat turn) both end generation.
  c.bos_token_id = 0;
  c.eos_token_ids = {1, 4};
  c.random_weights = true;
  return c;
}

const std::map<std::string, LlamaConfig>& presets() {
  // Shapes of the published models: llama2.c stories260K and stories15M, TinyLlama-1.1B,
  // Meta-Llama-3-8B.
  static const std::map<std::string, LlamaConfig> table = {
      {"tiny", make_preset(128, 352, 2, 4, 2, 512, 512, 10000.0)},
      {"stories260k", make_preset(64, 172, 5, 8, 4, 512, 512, 10000.0)},
      {"stories15m", make_preset(288, 768, 6, 6, 6, 32000, 256, 10000.0)},
      {"tinyllama-1.1b", make_preset(2048, 5632, 22, 32, 4, 32000, 2048, 10000.0)},
      {"llama3-8b", make_preset(4096, 14336, 32, 32, 8, 128256, 8192, 500000.0)},
  };
  return table;
}

}  // namespace

std::vector<std::string> llama_preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, config] : presets()) names.push_back(name);
  return names;
}

LlamaConfig llama_preset(const std::string& name) {
  const auto it = presets().find(name);
  if (it == presets().end()) {
    fail("unknown preset '{}': expected one of {}", name, fmt::join(llama_preset_names(), ", "));
  }
  return it->second;
}

void write_random_llama(const LlamaConfig& c, uint64_t seed, DType dtype,
                        const std::filesystem::path& dir) {
  GENRT_CHECK(dtype != DType::i32, "init-model: weights must be f32, f16 or bf16");
  c.validate("init-model preset");
  std::filesystem::create_directories(dir);

  std::vector<TensorSpec> specs;
  LlamaWeights listed{.lm_head_tied = c.tie_word_embeddings};
  for (const NamedWeight& w : llama_named_weights(c, listed)) specs.push_back({w.name, w.shape, dtype});
  const auto weights_path = dir / "model.safetensors";
  spdlog::info("writing {} random-weight tensors ({} parameters, {}) to {}", specs.size(),
               c.parameter_count(), dtype_name(dtype), weights_path.string());
  write_safetensors(
      weights_path, specs,
      [&](size_t i, Tensor& out) {
        fill_random_weight(specs[i].name, seed, i, out);
        if ((i + 1) % 50 == 0) spdlog::info("  {}/{} tensors written", i + 1, specs.size());
      },
      {{"format", "pt"}, {"genrt", "random weights, seed " + std::to_string(seed)}});

  std::ofstream config_out(dir / "config.json", std::ios::trunc);
  GENRT_CHECK(config_out.good(), "cannot create {}", (dir / "config.json").string());
  config_out << llama_config_to_hf(c).dump(2) << "\n";
  write_chat_tokenizer({.vocab_size = c.vocab_size}, dir);
}

LlamaModel random_llama_model(const LlamaConfig& c, uint64_t seed, const DeviceOptions& device) {
  c.validate("random model preset");
  const DType dtype = device.device == Device::cuda ? device.dtype : DType::f32;
  LlamaWeights w{.lm_head_tied = c.tie_word_embeddings};
  uint64_t index = 0;
  for (const NamedWeight& n : llama_named_weights(c, w)) {
    if (n.owns_tensor()) *n.tensor = Tensor::zeros(n.tensor_shape(), dtype);
    Tensor rows = n.rows_of(*n.tensor);
    fill_random_weight(n.name, seed, index++, rows);
  }
  LlamaModel model(c, std::move(w));
  if (device.device == Device::cuda) place_alone(model, device);
  return model;
}

}  // namespace genrt
