// genrt embed: sentence embeddings of texts from a BERT or RoBERTa encoder, pooled as its
// sentence-transformers config says (else the mean of the tokens).

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/models/bert/pooling.h"
#include "tools/genrt/commands.h"
#include "tools/genrt/encoder_model.h"

namespace genrt::cli {

namespace {

struct EmbedOptions {
  std::string model;
  std::vector<std::string> texts;
  bool json = false;
  DeviceFlags device;
};

void run_embed(const EmbedOptions& o) {
  const LoadedEncoder encoder = load_encoder(o.model, o.device);
  const Pooling pooling = read_pooling(o.model);
  std::vector<std::vector<int32_t>> ids;
  for (const std::string& text : o.texts) ids.push_back(encode_for(encoder, text));
  const std::vector<Tensor> hidden = encoder.model.encode_batch(ids);
  nlohmann::json out = nlohmann::json::array();
  for (size_t t = 0; t < o.texts.size(); ++t) {
    const std::vector<float> embedding = pool(hidden[t], pooling);
    if (o.json) {
      out.push_back({{"text", o.texts[t]}, {"tokens", ids[t].size()}, {"embedding", embedding}});
      continue;
    }
    for (size_t i = 0; i < embedding.size(); ++i) std::printf(i == 0 ? "%.7g" : " %.7g", embedding[i]);
    std::printf("\n");
  }
  if (o.json) std::printf("%s\n", out.dump().c_str());
}

}  // namespace

Command add_embed_command(CLI::App& app) {
  auto o = std::make_shared<EmbedOptions>();
  CLI::App* cmd = app.add_subcommand(
      "embed", "Print the sentence embedding of each text, one line of numbers per text (BERT, RoBERTa)");
  cmd->add_option("--model", o->model, "Encoder folder: config.json, safetensors, tokenizer.json (and modules.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--text", o->texts, "A text to embed; repeat for several")->required();
  cmd->add_flag("--json", o->json, "Print [{\"text\", \"tokens\", \"embedding\"}, ...]");
  add_device_options(cmd, o->device);
  return {cmd, [o] { run_embed(*o); }};
}

}  // namespace genrt::cli
