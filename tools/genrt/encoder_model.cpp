#include "tools/genrt/encoder_model.h"

#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"
#include "runtime/models/load_model.h"

namespace genrt::cli {

LoadedEncoder load_encoder(const std::string& model_dir, const DeviceFlags& flags) {
  const DeviceOptions device = device_options(flags);
  const auto start = std::chrono::steady_clock::now();
  LoadedEncoder loaded{load_bert(model_dir, device), HfTokenizer::open(model_dir)};
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  const BertConfig& c = loaded.model.config();
  spdlog::info("loaded {} ({}, {} layers, hidden {}, context {}) in {:.0f} ms", model_dir, c.architecture,
               c.num_hidden_layers, c.hidden_size, c.context_length(), took.count() * 1e3);
  return loaded;
}

bool is_encoder(const std::string& model) {
  const auto config = std::filesystem::path(model) / "config.json";
  return std::filesystem::is_regular_file(config) && is_bert_encoder(read_json_file(config));
}

void add_embedding_pooling_option(CLI::App* cmd, std::string& pooling, const std::string& help) {
  cmd->add_option("--embedding-pooling", pooling, help)->check(CLI::IsMember({"cls", "mean", "last"}));
}

LoadedEmbedder load_embedder(const std::string& model_dir, const std::string& tokenizer_path,
                             const std::string& pooling_flag, const DeviceFlags& flags) {
  Pooling pooling = read_pooling(model_dir);
  if (!pooling_flag.empty()) pooling.mode = parse_pooling_mode(pooling_flag);
  if (is_encoder(model_dir)) {
    LoadedEncoder encoder = load_encoder(model_dir, flags);
    return {encoder_embedder(std::move(encoder.model), pooling),
            std::make_unique<HfTokenizer>(tokenizer_path.empty() ? std::move(encoder.tokenizer)
                                                                 : HfTokenizer::open(tokenizer_path))};
  }
  // A decoder's embedding is checked before its weights load.
  const ModelSpec spec = read_model_spec(model_dir);
  GENRT_CHECK(!spec.decoder_start_token_id, "{} is an encoder-decoder ({}): genrt embeds with encoders and decoders",
              model_dir, spec.architecture);
  GENRT_CHECK(pooling.mode == PoolingMode::last,
              "{} is a decoder ({}): it embeds by its last token's state, the only one that has seen the whole "
              "text; pass --embedding-pooling last",
              model_dir, spec.architecture);
  LoadedModel loaded = load_model(model_dir, tokenizer_path, flags);
  GENRT_CHECK(loaded.tokenizer != nullptr, "{}: embedding text needs the model's tokenizer (tokenizer.json)", model_dir);
  return {decoder_embedder(std::move(loaded.model), pooling, device_options(flags)), std::move(loaded.tokenizer)};
}

std::vector<int32_t> encode_within(const Tokenizer& tokenizer, const std::string& text, int64_t context) {
  std::vector<int32_t> ids = tokenizer.encode(text, true);
  GENRT_CHECK(static_cast<int64_t>(ids.size()) <= context, "the text has {} tokens, but the model's context is {}",
              ids.size(), context);
  return ids;
}

}  // namespace genrt::cli
