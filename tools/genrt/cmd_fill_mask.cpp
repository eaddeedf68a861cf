// genrt fill-mask: the likeliest tokens for each mask token of a text, from a BERT or
// RoBERTa masked-LM checkpoint, with their probabilities.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "tools/genrt/commands.h"
#include "tools/genrt/encoder_model.h"

namespace genrt::cli {

namespace {

struct FillMaskOptions {
  std::string model;
  std::string text;
  int64_t top_k = 5;
  bool json = false;
  DeviceFlags device;
};

// The softmax of one logits row, as probabilities in double.
std::vector<double> probabilities(const float* logits, int64_t n) {
  const float max = *std::max_element(logits, logits + n);
  std::vector<double> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[i] = std::exp(double(logits[i]) - max);
  const double sum = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& v : p) v /= sum;
  return p;
}

void run_fill_mask(const FillMaskOptions& o) {
  GENRT_CHECK(o.top_k > 0, "--top-k {} must be positive", o.top_k);
  const LoadedEncoder encoder = load_encoder(o.model, o.device);
  std::optional<int32_t> mask = encoder.tokenizer.token_id("[MASK]");
  if (!mask) mask = encoder.tokenizer.token_id("<mask>");
  GENRT_CHECK(mask.has_value(), "{}: the tokenizer has no [MASK] or <mask> token", o.model);
  const std::vector<int32_t> ids = encode_within(encoder.tokenizer, o.text, encoder.model.config().context_length());
  const std::string mask_text = encoder.tokenizer.token_text(*mask);
  GENRT_CHECK(std::find(ids.begin(), ids.end(), *mask) != ids.end(), "the text has no {} token to fill", mask_text);
  const Tensor logits = encoder.model.mlm_logits(ids);
  const int64_t vocab = logits.dim(1), k = std::min(o.top_k, vocab);

  nlohmann::json out = nlohmann::json::array();
  for (size_t pos = 0; pos < ids.size(); ++pos) {
    if (ids[pos] != *mask) continue;
    const std::vector<double> p = probabilities(logits.select(static_cast<int64_t>(pos)).data<float>(), vocab);
    std::vector<int32_t> order(static_cast<size_t>(vocab));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int32_t a, int32_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    nlohmann::json candidates = nlohmann::json::array();
    if (!o.json) std::printf("%s at token %zu:\n", mask_text.c_str(), pos);
    for (int64_t i = 0; i < k; ++i) {
      const int32_t id = order[i];
      const std::string token = encoder.tokenizer.decode(std::span(&id, 1), false);
      candidates.push_back({{"id", id}, {"token", token}, {"probability", p[id]}});
      if (!o.json) std::printf("  %8.5f  %s\n", p[id], nlohmann::json(token).dump().c_str());
    }
    out.push_back({{"position", pos}, {"candidates", candidates}});
  }
  if (o.json) std::printf("%s\n", out.dump().c_str());
}

}  // namespace

Command add_fill_mask_command(CLI::App& app) {
  auto o = std::make_shared<FillMaskOptions>();
  CLI::App* cmd = app.add_subcommand(
      "fill-mask", "Print the likeliest tokens for each [MASK] (<mask>) of a text (BertForMaskedLM, RobertaForMaskedLM)");
  cmd->add_option("--model", o->model, "Masked-LM folder: config.json, safetensors, tokenizer.json")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--text", o->text, "Text with one or more mask tokens")->required();
  cmd->add_option("--top-k", o->top_k, "Candidates per mask")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print [{\"position\", \"candidates\": [{\"id\", \"token\", \"probability\"}]}]");
  add_device_options(cmd, o->device);
  return {cmd, [o] { run_fill_mask(*o); }};
}

}  // namespace genrt::cli
