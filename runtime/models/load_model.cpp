#include "runtime/models/load_model.h"

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/io/llama2c_checkpoint.h"
#include "runtime/models/bert/bert_config.h"
#include "runtime/models/gpt2/gpt2_model.h"
#include "runtime/models/llama/llama_loader.h"
#include "runtime/models/model_files.h"
#include "runtime/models/opt/opt_model.h"
#include "runtime/models/t5/t5_model.h"

namespace genrt {

namespace {

enum class HfFamily { llama, gpt2, opt, t5 };

// The family of a config.json: its first `architectures` entry, else its model_type; the
// Llama loader takes the rest (and names what it cannot run). An encoder is refused here.
HfFamily hf_family(const nlohmann::json& config, const std::string& where) {
  if (is_bert_encoder(config)) {
    fail("{}: {} is an encoder: it embeds and fills masks (genrt embed, genrt fill-mask), it does not generate",
         where, bert_config_from_hf(config, where).architecture);
  }
  const auto archs = config.find("architectures");
  std::string arch;
  if (archs != config.end() && archs->is_array() && !archs->empty() && (*archs)[0].is_string()) {
    arch = (*archs)[0].get<std::string>();
  }
  const std::string type = config.is_object() ? config.value("model_type", "") : "";
  if (arch == "GPT2LMHeadModel" || (arch.empty() && type == "gpt2")) return HfFamily::gpt2;
  if (arch == "OPTForCausalLM" || (arch.empty() && type == "opt")) return HfFamily::opt;
  // mT5 is T5 v1.1's graph; T5WithLMHeadModel is the original's old name.
  if (arch == "T5ForConditionalGeneration" || arch == "MT5ForConditionalGeneration" || arch == "T5WithLMHeadModel" ||
      (arch.empty() && (type == "t5" || type == "mt5"))) {
    return HfFamily::t5;
  }
  return HfFamily::llama;
}

}  // namespace

std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& model, const DeviceOptions& device) {
  if (detect_model_format(model) == ModelFormat::llama2c) {
    return std::make_unique<LlamaModel>(load_llama2c(model, device));
  }
  const auto path = model / "config.json";
  switch (hf_family(read_json_file(path), path.string())) {
    case HfFamily::gpt2: return std::make_unique<Gpt2Model>(load_gpt2(model, device));
    case HfFamily::opt: return std::make_unique<OptModel>(load_opt(model, device));
    case HfFamily::t5: return std::make_unique<T5Model>(load_t5(model, device));
    case HfFamily::llama: break;
  }
  return std::make_unique<LlamaModel>(load_llama_hf(model, device));
}

ModelSpec read_model_spec(const std::filesystem::path& model) {
  if (detect_model_format(model) == ModelFormat::llama2c) {
    return llama_config_from_llama2c(Llama2cCheckpoint::open(model).header()).spec();
  }
  const auto path = model / "config.json";
  const nlohmann::json config = read_json_file(path);
  switch (hf_family(config, path.string())) {
    case HfFamily::gpt2: return gpt2_config_from_hf(config, path.string()).spec();
    case HfFamily::opt: return opt_config_from_hf(config, path.string()).spec();
    case HfFamily::t5: return t5_config_from_hf(config, path.string()).spec();
    case HfFamily::llama: break;
  }
  return llama_config_from_hf(config, path.string()).spec();
}

}  // namespace genrt
