// genrt info: what a model is and what it needs, read from its headers only (no weights
// are loaded, so this is instant even for multi-GB checkpoints).

#include <cstdio>
#include <map>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/bert/bert_model.h"
#include "runtime/models/bert/pooling.h"
#include "runtime/models/load_model.h"
#include "runtime/models/model_files.h"
#include "tools/genrt/commands.h"
#include "tools/genrt/encoder_model.h"

namespace genrt::cli {

namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
};

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", bytes, units[u]);
}

// An encoder folder: its shape, its parameters (the tensors it lists) and its pooling.
void run_encoder_info(const InfoOptions& o) {
  const auto config_path = std::filesystem::path(o.model) / "config.json";
  const BertConfig c = bert_config_from_hf(read_json_file(config_path), config_path.string());
  BertWeights listed;
  int64_t params = 0;
  for (const NamedWeight& w : bert_named_weights(c, listed, "")) params += shape_numel(w.shape);
  const Pooling pooling = read_pooling(o.model);
  const char* mode = pooling.mode == PoolingMode::cls ? "cls" : pooling.mode == PoolingMode::mean ? "mean" : "last";
  const WeightStore store = WeightStore::open_dir(o.model);
  if (o.json) {
    const nlohmann::json out = {
        {"architecture", c.architecture},     {"parameters", params},
        {"stored_dtypes", store.dtype_counts()}, {"stored_bytes", store.total_bytes()},
        {"hidden_size", c.hidden_size},       {"layers", c.num_hidden_layers},
        {"heads", c.num_attention_heads},     {"vocab_size", c.vocab_size},
        {"context", c.context_length()},      {"pooling", mode},
        {"normalized", pooling.normalize},    {"weights_bytes_f32", params * 4},
        {"weights_bytes_bf16", params * 2},
    };
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("model          %s\n", o.model.c_str());
  std::printf("architecture   %s (an encoder: genrt embed, genrt fill-mask, /v1/embeddings)\n",
              c.architecture.c_str());
  std::printf("parameters     %.2fM\n", params / 1e6);
  std::printf("shape          hidden %lld, %lld layers, %lld heads, vocab %lld, context %lld\n",
              static_cast<long long>(c.hidden_size), static_cast<long long>(c.num_hidden_layers),
              static_cast<long long>(c.num_attention_heads), static_cast<long long>(c.vocab_size),
              static_cast<long long>(c.context_length()));
  std::printf("pooling        %s%s\n", mode, pooling.normalize ? ", normalized" : "");
  std::printf("memory         weights %s in fp32 (CPU backend), %s in bf16 (GPU)\n", human_bytes(params * 4.0).c_str(),
              human_bytes(params * 2.0).c_str());
}

void run_info(const InfoOptions& o) {
  if (is_encoder(o.model)) return run_encoder_info(o);
  const ModelSpec spec = read_model_spec(o.model);
  std::map<std::string, int> stored_dtypes;  // file dtype -> tensor count
  int64_t stored_bytes = 0;
  if (detect_model_format(o.model) == ModelFormat::hf_directory) {
    const WeightStore store = WeightStore::open_dir(o.model);
    stored_dtypes = store.dtype_counts();
    stored_bytes = static_cast<int64_t>(store.total_bytes());
  } else {
    stored_dtypes["F32"] = 1;
    stored_bytes = static_cast<int64_t>(std::filesystem::file_size(o.model));
  }
  const int64_t params = spec.parameter_count;
  const int64_t kv_per_token_bf16 = spec.kv_cache_shape(1, 1).bytes_per_token(DType::bf16);
  const int64_t kv_full_context = kv_per_token_bf16 * spec.context_length;

  std::string dtypes;
  for (const auto& [dtype, count] : stored_dtypes) dtypes += (dtypes.empty() ? "" : ", ") + dtype;
  if (o.json) {
    const nlohmann::json out = {
        {"architecture", spec.architecture},
        {"parameters", params},
        {"stored_dtypes", stored_dtypes},
        {"stored_bytes", stored_bytes},
        {"hidden_size", spec.hidden_size},
        {"layers", spec.num_layers},
        {"kv_heads", spec.num_kv_heads},
        {"head_dim", spec.head_dim},
        {"vocab_size", spec.vocab_size},
        {"context", spec.context_length},
        {"weights_bytes_f32", params * 4},
        {"weights_bytes_bf16", params * 2},
        {"kv_cache_bytes_per_token_bf16", kv_per_token_bf16},
        {"random_weights", spec.random_weights},
    };
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("model          %s\n", o.model.c_str());
  std::printf("architecture   %s%s\n", spec.architecture.c_str(),
              spec.random_weights ? "  (random weights from genrt init-model: output is gibberish)" : "");
  std::printf("parameters     %.2fM\n", params / 1e6);
  std::printf("shape          hidden %lld, %lld layers, %lld KV heads x %lld, vocab %lld, context %lld\n",
              static_cast<long long>(spec.hidden_size), static_cast<long long>(spec.num_layers),
              static_cast<long long>(spec.num_kv_heads), static_cast<long long>(spec.head_dim),
              static_cast<long long>(spec.vocab_size), static_cast<long long>(spec.context_length));
  std::printf("stored as      %s, %s on disk\n", dtypes.c_str(), human_bytes(stored_bytes).c_str());
  std::printf("memory         weights %s in fp32 (CPU backend), %s in bf16 (GPU)\n", human_bytes(params * 4.0).c_str(),
              human_bytes(params * 2.0).c_str());
  std::printf("KV cache       %s per token in bf16, %s for one full %lld-token context\n",
              human_bytes(kv_per_token_bf16).c_str(), human_bytes(kv_full_context).c_str(),
              static_cast<long long>(spec.context_length));
}

}  // namespace

Command add_info_command(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a model: architecture, size, dtypes, memory");
  cmd->add_option("--model", o->model, "Hugging Face model directory or llama2.c .bin")->required();
  cmd->add_flag("--json", o->json, "Print a JSON object");
  return {cmd, [o] { run_info(*o); }};
}

}  // namespace genrt::cli
