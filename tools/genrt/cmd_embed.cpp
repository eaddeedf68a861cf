// genrt embed: sentence embeddings of texts from an encoder (BERT, RoBERTa, XLM-R), pooled as
// its sentence-transformers config says (else the mean of the tokens), or from a decoder
// pooled at its last token (--embedding-pooling last).

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/genrt/commands.h"
#include "tools/genrt/encoder_model.h"

namespace genrt::cli {

namespace {

struct EmbedOptions {
  std::string model;
  std::vector<std::string> texts;
  bool json = false;
  std::string pooling;
  DeviceFlags device;
};

void run_embed(const EmbedOptions& o) {
  const LoadedEmbedder loaded = load_embedder(o.model, "", o.pooling, o.device);
  std::vector<std::vector<int32_t>> ids;
  for (const std::string& text : o.texts) {
    ids.push_back(encode_within(*loaded.tokenizer, text, loaded.embedder->context_length()));
  }
  const std::vector<std::vector<float>> embeddings = loaded.embedder->embed(ids);
  nlohmann::json out = nlohmann::json::array();
  for (size_t t = 0; t < o.texts.size(); ++t) {
    const std::vector<float>& embedding = embeddings[t];
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
      "embed",
      "Print the sentence embedding of each text, one line of numbers per text (an encoder: BERT, RoBERTa, "
      "XLM-R; or a decoder pooled at its last token)");
  cmd->add_option("--model", o->model,
                  "Model folder: config.json, safetensors, tokenizer.json (and a sentence-transformers modules.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--text", o->texts, "A text to embed; repeat for several")->required();
  cmd->add_flag("--json", o->json, "Print [{\"text\", \"tokens\", \"embedding\"}, ...]");
  add_embedding_pooling_option(cmd, o->pooling,
                               "Pool the tokens' final hidden states by the first token (cls), their mean or the "
                               "last token (default: as modules.json says, else mean); a decoder takes last only");
  add_device_options(cmd, o->device);
  return {cmd, [o] { run_embed(*o); }};
}

}  // namespace genrt::cli
