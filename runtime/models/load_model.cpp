#include "runtime/models/load_model.h"

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/io/llama2c_checkpoint.h"
#include "runtime/models/gpt2/gpt2_model.h"
#include "runtime/models/llama/llama_loader.h"
#include "runtime/models/model_files.h"

namespace genrt {

namespace {

bool is_gpt2(const nlohmann::json& config) {
  const auto archs = config.find("architectures");
  if (archs != config.end() && archs->is_array() && !archs->empty() && (*archs)[0].is_string()) {
    return (*archs)[0].get<std::string>() == "GPT2LMHeadModel";
  }
  return config.value("model_type", "") == "gpt2";
}

}  // namespace

std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& model, const DeviceOptions& device) {
  if (detect_model_format(model) == ModelFormat::llama2c) {
    return std::make_unique<LlamaModel>(load_llama2c(model, device));
  }
  if (is_gpt2(read_json_file(model / "config.json"))) {
    return std::make_unique<Gpt2Model>(load_gpt2(model, device));
  }
  return std::make_unique<LlamaModel>(load_llama_hf(model, device));
}

ModelSpec read_model_spec(const std::filesystem::path& model) {
  if (detect_model_format(model) == ModelFormat::llama2c) {
    return llama_config_from_llama2c(Llama2cCheckpoint::open(model).header()).spec();
  }
  const auto path = model / "config.json";
  const nlohmann::json config = read_json_file(path);
  if (is_gpt2(config)) return gpt2_config_from_hf(config, path.string()).spec();
  return llama_config_from_hf(config, path.string()).spec();
}

}  // namespace genrt
