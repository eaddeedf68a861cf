// CUDA graphs of decode steps: the same greedy tokens with graphs as without, for batches
// that stay at one bucket (so both runs' GEMMs see the same rows) and contexts inside one
// key tile of the decode kernel (so its splits sum in the same order); every bucket
// captured ahead of time; a new KV cache recaptures. Skips without a device.

#include <gtest/gtest.h>

#include <vector>

#include "runtime/core/max_rel_diff.h"
#include "runtime/engine/generator.h"
#include "runtime/models/llama/llama_init.h"
#include "tests/gpu/gpu_test_util.h"

namespace genrt {
namespace {

// The tiny preset with head dim 64 and GQA 2:1, so decode runs the flash-decoding kernel.
LlamaConfig graph_test_config() {
  LlamaConfig c = llama_preset("tiny");
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 64;
  return c;
}

std::vector<GenerationResult> greedy(const CausalLM& model, int64_t sequences) {
  std::vector<GenerationRequest> requests;
  for (int64_t s = 0; s < sequences; ++s) {
    requests.push_back({.prompt = {1, static_cast<int32_t>(10 + s), 7, static_cast<int32_t>(200 + 3 * s), 4, 9},
                        .max_new_tokens = 20,
                        .sampling = {.temperature = 0},
                        .ignore_eos = true});
  }
  KvCache cache = model.make_kv_cache(kv_blocks_needed(requests, 16), 16);
  Generator generator(model, cache);
  return generator.generate(requests, [](size_t, int32_t) { return true; });
}

TEST(DecodeGraphsGpu, GreedyTokensMatchWithoutGraphs) {
  GENRT_REQUIRE_GPU();
  const LlamaConfig config = graph_test_config();
  const LlamaModel with = random_llama_model(config, 11, {.device = Device::cuda, .max_step_seqs = 16});
  const LlamaModel without =
      random_llama_model(config, 11, {.device = Device::cuda, .max_step_seqs = 16, .cuda_graphs = false});
  EXPECT_EQ(with.graph_batch_sizes(), (std::vector<int64_t>{1, 2, 4, 8, 16}));
  EXPECT_TRUE(without.graph_batch_sizes().empty());
  for (const int64_t sequences : {1, 4, 8}) {
    const std::vector<GenerationResult> a = greedy(with, sequences), b = greedy(without, sequences);
    ASSERT_EQ(a.size(), b.size());
    for (size_t s = 0; s < a.size(); ++s) {
      EXPECT_EQ(a[s].tokens, b[s].tokens) << sequences << " sequences, sequence " << s;
      EXPECT_EQ(a[s].tokens.size(), 20u);
    }
  }
  EXPECT_GE(with.captured_graphs(), 3);  // batches 1, 4 and 8 (each generate makes a new cache)
  EXPECT_EQ(without.captured_graphs(), 0);
}

// Decode steps of `sequences` sequences with fixed tokens (not sampled), each step's logits
// downloaded: prompts [1, 2 + s, 3], then token 40 + step.
std::vector<std::vector<float>> decode_logits(const CausalLM& model, KvCache& cache, int64_t sequences, int steps) {
  std::vector<BlockTable> tables(static_cast<size_t>(sequences));
  ForwardBatch prefill;
  for (int64_t s = 0; s < sequences; ++s) {
    EXPECT_TRUE(cache.reserve(tables[s], 3 + steps));
    prefill.sequences.push_back({.first_token = 3 * s, .n_tokens = 3, .start_pos = 0, .blocks = &tables[s]});
    prefill.tokens.insert(prefill.tokens.end(), {1, static_cast<int32_t>(2 + s), 3});
  }
  model.forward(prefill, cache, LogitsFor::last_token);
  std::vector<std::vector<float>> out;
  for (int step = 0; step < steps; ++step) {
    ForwardBatch decode;
    for (int64_t s = 0; s < sequences; ++s) {
      decode.sequences.push_back({.first_token = s, .n_tokens = 1, .start_pos = 3 + step, .blocks = &tables[s]});
      decode.tokens.push_back(40 + step);
    }
    const Tensor logits = model.device_runtime()->download_f32(model.forward(decode, cache, LogitsFor::last_token));
    EXPECT_EQ(logits.dim(0), sequences);
    out.emplace_back(logits.data<float>(), logits.data<float>() + logits.numel());
  }
  for (BlockTable& table : tables) cache.release(table);
  return out;
}

TEST(DecodeGraphsGpu, EveryBucketIsCapturedAheadAndBatchesBetweenBucketsArePadded) {
  GENRT_REQUIRE_GPU();
  const LlamaModel model = random_llama_model(graph_test_config(), 5, {.device = Device::cuda, .max_step_seqs = 8});
  KvCache cache = model.make_kv_cache(64, 16);
  capture_decode_graphs(model, cache);
  EXPECT_EQ(model.captured_graphs(), 4);  // 1, 2, 4, 8
  // Three sequences replay the graph of 4, padded: their logits match launching the step's
  // kernels for 3 rows, within bf16 rounding (the GEMMs may differ in the rows they see).
  const LlamaModel eager = random_llama_model(graph_test_config(), 5,
                                              {.device = Device::cuda, .max_step_seqs = 8, .cuda_graphs = false});
  KvCache eager_cache = eager.make_kv_cache(64, 16);
  const auto graphed = decode_logits(model, cache, 3, 5), launched = decode_logits(eager, eager_cache, 3, 5);
  ASSERT_EQ(graphed.size(), launched.size());
  for (size_t step = 0; step < graphed.size(); ++step) {
    ASSERT_EQ(graphed[step].size(), launched[step].size());
    EXPECT_LE(max_rel_diff(graphed[step].data(), launched[step].data(), graphed[step].size()), 2e-2) << step;
  }
  EXPECT_EQ(model.captured_graphs(), 4);  // nothing recaptured
  // A new cache moves the pools: the next decode step captures its bucket again.
  KvCache other = model.make_kv_cache(64, 16);
  decode_logits(model, other, 1, 1);
  EXPECT_EQ(model.captured_graphs(), 1);
}

}  // namespace
}  // namespace genrt
