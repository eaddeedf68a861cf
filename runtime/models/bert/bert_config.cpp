#include "runtime/models/bert/bert_config.h"

#include <algorithm>
#include <iterator>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

namespace {

// XLM-RoBERTa is RoBERTa's graph (with a SentencePiece vocabulary).
constexpr const char* kArchitectures[] = {"BertModel",    "BertForMaskedLM",       "RobertaModel", "RobertaForMaskedLM",
                                          "XLMRobertaModel", "XLMRobertaForMaskedLM"};

// architectures[0], else the base model of model_type ("" for neither).
std::string architecture_of(const nlohmann::json& config) {
  const auto archs = config.find("architectures");
  if (archs != config.end() && archs->is_array() && !archs->empty() && (*archs)[0].is_string()) {
    return (*archs)[0].get<std::string>();
  }
  const std::string type = config.value("model_type", "");
  return type == "bert" ? "BertModel" : type == "roberta" ? "RobertaModel" : type == "xlm-roberta" ? "XLMRobertaModel" : "";
}

BertConfig parse_bert_config(const nlohmann::json& config, const std::string& where) {
  GENRT_CHECK(config.is_object(), "{}: expected a JSON object", where);
  BertConfig c;
  c.architecture = architecture_of(config);
  GENRT_CHECK(std::find(std::begin(kArchitectures), std::end(kArchitectures), c.architecture) !=
                  std::end(kArchitectures),
              "{}: architecture '{}' is not a supported encoder (BertModel, BertForMaskedLM, RobertaModel, "
              "RobertaForMaskedLM, XLMRobertaModel, XLMRobertaForMaskedLM)",
              where, c.architecture);
  c.vocab_size = json_required<int64_t>(config, "vocab_size", where);
  c.hidden_size = json_required<int64_t>(config, "hidden_size", where);
  c.num_hidden_layers = json_required<int64_t>(config, "num_hidden_layers", where);
  c.num_attention_heads = json_required<int64_t>(config, "num_attention_heads", where);
  c.intermediate_size = json_required<int64_t>(config, "intermediate_size", where);
  c.max_position_embeddings = json_required<int64_t>(config, "max_position_embeddings", where);
  c.type_vocab_size = json_optional<int64_t>(config, "type_vocab_size", 2, where);
  c.layer_norm_eps = json_optional<double>(config, "layer_norm_eps", 1e-12, where);
  const std::pair<const char*, int64_t> positive[] = {
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"intermediate_size", c.intermediate_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"type_vocab_size", c.type_vocab_size}};
  for (const auto& [name, value] : positive) {
    GENRT_CHECK(value > 0, "{}: {} = {} must be positive", where, name, value);
  }
  GENRT_CHECK(c.hidden_size % c.num_attention_heads == 0,
              "{}: hidden_size {} is not divisible by num_attention_heads {}", where, c.hidden_size,
              c.num_attention_heads);
  GENRT_CHECK(c.layer_norm_eps > 0, "{}: layer_norm_eps = {} must be positive", where, c.layer_norm_eps);
  const std::string act = json_optional<std::string>(config, "hidden_act", "gelu", where);
  if (act == "gelu") {
    c.hidden_act = ref::Activation::gelu_erf;
  } else if (act == "gelu_new" || act == "gelu_pytorch_tanh") {
    c.hidden_act = ref::Activation::gelu_tanh;
  } else {
    fail("{}: hidden_act '{}' is not supported (gelu, gelu_new or gelu_pytorch_tanh)", where, act);
  }
  const std::string positions = json_optional<std::string>(config, "position_embedding_type", "absolute", where);
  GENRT_CHECK(positions == "absolute", "{}: position_embedding_type '{}' is not supported (absolute)", where,
              positions);
  GENRT_CHECK(!json_optional<bool>(config, "is_decoder", false, where),
              "{}: is_decoder = true is not supported: genrt runs BERT and RoBERTa as encoders", where);
  GENRT_CHECK(json_optional<bool>(config, "tie_word_embeddings", true, where),
              "{}: an untied masked-LM decoder is not supported", where);
  if (c.is_roberta()) {
    c.position_offset = json_optional<int64_t>(config, "pad_token_id", 1, where) + 1;
    GENRT_CHECK(c.position_offset >= 1 && c.position_offset < c.max_position_embeddings,
                "{}: pad_token_id {} leaves no positions in max_position_embeddings {}", where,
                c.position_offset - 1, c.max_position_embeddings);
  }
  return c;
}

}  // namespace

BertConfig bert_config_from_hf(const nlohmann::json& config, const std::string& where) {
  return parse_config_json(config, where, parse_bert_config);
}

bool is_bert_encoder(const nlohmann::json& config) {
  if (!config.is_object()) return false;
  const std::string arch = architecture_of(config);
  return std::find(std::begin(kArchitectures), std::end(kArchitectures), arch) != std::end(kArchitectures);
}

}  // namespace genrt
