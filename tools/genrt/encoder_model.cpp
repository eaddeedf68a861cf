#include "tools/genrt/encoder_model.h"

#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt::cli {

LoadedEncoder load_encoder(const std::string& model_dir, const DeviceFlags& flags) {
  const DeviceOptions device{
      .device = parse_device(flags.device), .dtype = parse_gpu_dtype(flags.dtype), .gpu_memory = flags.gpu_memory};
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

std::vector<int32_t> encode_for(const LoadedEncoder& encoder, const std::string& text) {
  std::vector<int32_t> ids = encoder.tokenizer.encode(text, true);
  const int64_t context = encoder.model.config().context_length();
  GENRT_CHECK(static_cast<int64_t>(ids.size()) <= context, "the text has {} tokens, but the model's context is {}",
              ids.size(), context);
  return ids;
}

}  // namespace genrt::cli
