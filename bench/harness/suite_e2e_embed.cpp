// e2e-embed: sentence embeddings of a random-weight BERT encoder as /v1/embeddings computes
// them (the Embedder over the encoder, mean pooling), a batch of equal-length inputs per
// call: sequences/s, and the TFLOP/s of its GEMMs and attention next to the GEMM peak.
// The torch peer runs transformers' BertModel (SDPA) on the same shape and batch.

#include <numeric>

#include <spdlog/spdlog.h>

#include "bench/harness/suites.h"
#include "runtime/models/bert/bert_init.h"
#include "runtime/models/embedder.h"

namespace genrt::bench {

namespace {

// Issue 23's target shape: BERT-base at batch 64 x 128 tokens.
const std::vector<std::string> kGpuEmbed = {"bert-base:1", "bert-base:8", "bert-base:64"};
const std::vector<std::string> kCpuEmbed = {"bert-tiny:1", "bert-tiny:8"};
constexpr int64_t kTokens = 128;

// A forward's arithmetic: per token and layer the q, k, v and output projections (4 d^2
// multiply-adds) and the MLP (2 d I), and attention's QK^T and PV (2 T d); the embeddings
// and pooling are negligible.
double encoder_flops(const BertConfig& c, int64_t sequences, int64_t tokens) {
  const double d = static_cast<double>(c.hidden_size), inner = static_cast<double>(c.intermediate_size);
  const double t = static_cast<double>(tokens);
  return static_cast<double>(sequences * tokens * c.num_hidden_layers) * 2.0 * (4.0 * d * d + 2.0 * d * inner + 2.0 * t * d);
}

}  // namespace

std::vector<nlohmann::json> run_e2e_embed_suite(BenchRun& run) {
  const auto cases = preset_batches_for(run, kGpuEmbed, kCpuEmbed, "PRESET:BATCH");
  const double gemm_tflops = run.peak().gemm_tflops;
  std::vector<nlohmann::json> lines;
  for (const PresetBatch& c : cases) {
    const BertConfig config = bert_preset(c.preset);
    spdlog::info("e2e-embed: building {} with random weights on {}", c.preset, device_name(run.device().device()));
    const auto embedder = encoder_embedder(
        random_bert_model(config, 0, {.device = run.device().device(), .dtype = run.options().dtype}),
        {.mode = PoolingMode::mean});
    std::vector<std::vector<int32_t>> inputs(static_cast<size_t>(c.batch), std::vector<int32_t>(kTokens));
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::iota(inputs[i].begin(), inputs[i].end(), static_cast<int32_t>(1000 + i));
    }
    // Each call returns host embeddings: the device has finished when it returns.
    const Timing t = measure(
        [&] {
          const double start = steady_seconds();
          embedder->embed(inputs);
          return 1e3 * (steady_seconds() - start);
        },
        steady_seconds, run.options().measure);
    const double sequences_per_s = static_cast<double>(c.batch) / (t.median_ms / 1e3);
    const double tflops = encoder_flops(config, c.batch, kTokens) / (t.median_ms / 1e3) / 1e12;
    nlohmann::json line =
        run.base_line("e2e-embed", "embed", {{"preset", c.preset}, {"batch", c.batch}, {"tokens", kTokens}});
    // The model's shape, for peers that build the same one (bench/peers/torch_peer.py).
    line["model"] = {{"hidden", config.hidden_size},        {"layers", config.num_hidden_layers},
                     {"heads", config.num_attention_heads}, {"intermediate", config.intermediate_size},
                     {"vocab", config.vocab_size},          {"positions", config.max_position_embeddings}};
    line["x"] = c.batch;
    line["x_name"] = "batch (128 tokens each)";
    line["series"] = c.preset;
    line["median_ms"] = t.median_ms;
    line["p10_ms"] = t.p10_ms;
    line["p90_ms"] = t.p90_ms;
    line["reps"] = t.reps;
    line["metric"] = "sequences/s";
    line["value"] = sequences_per_s;
    line["tokens_per_s"] = sequences_per_s * kTokens;
    line["tflops"] = tflops;
    line["fraction_of_peak"] = gemm_tflops > 0 ? tflops / gemm_tflops : 0.0;
    line["peak"] = {{"gemm_tflops", gemm_tflops}};
    line["check"] = {{"skipped", "random weights: the BERT goldens and GPU tests check the encoder's numerics"}};
    set_best_peer(line);
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace genrt::bench
