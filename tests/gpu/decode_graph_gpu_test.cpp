// CUDA graphs of decode steps: the same greedy tokens with graphs as without, for batches
// that stay at one bucket (so both runs' GEMMs see the same rows) and contexts inside one
// key tile of the decode kernel (so only one split has keys and the merge is exact); a
// padded bucket's logits against the same padded step launched kernel by kernel, exactly
// inside one key tile and within bf16 rounding over many; every bucket captured ahead of
// time; graphs outliving a remade KV cache (carved at the same addresses); seeded draws
// inside the graphs. Skips without a device.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/core/max_rel_diff.h"
#include "runtime/engine/generator.h"
#include "runtime/engine/scheduler.h"
#include "runtime/engine/step_sampler.h"
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
  // Batches 1, 4 and 8, each captured once: every generate's new cache is carved from the
  // planned arena at the same addresses, so the graphs stay valid.
  EXPECT_EQ(with.captured_graphs(), 3);
  EXPECT_EQ(without.captured_graphs(), 0);
}

// The seeded tokens and logprobs of `sequences` requests through the batch scheduler, with
// `bias` as every request's logit bias.
struct Drawn {
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<float>> logprobs;  // of each chosen token
};
void expect_same(const Drawn& got, const Drawn& want, const char* what) {
  EXPECT_EQ(got.ids, want.ids) << what;
  EXPECT_EQ(got.logprobs, want.logprobs) << what;  // exact: a NaN fails
}
Drawn seeded(const CausalLM& model, int32_t sequences, float repetition_penalty,
             const std::vector<std::pair<int32_t, float>>& bias = {}) {
  KvCache cache = model.make_kv_cache(64, 16);
  BatchScheduler scheduler(model, cache, {});
  Drawn out{.ids = std::vector<std::vector<int32_t>>(sequences),
            .logprobs = std::vector<std::vector<float>>(sequences)};
  for (int32_t s = 0; s < sequences; ++s) {
    SamplingParams sampling{.temperature = 1.0f,
                            .top_k = 50,
                            .top_p = 0.95f,
                            .min_p = 0.02f,
                            .repetition_penalty = repetition_penalty,
                            .seed = static_cast<uint64_t>(100 + s)};
    sampling.logit_bias = bias;
    scheduler.submit({.prompt = {1, 10 + s, 7, 4},
                      .max_new_tokens = 24,
                      .sampling = sampling,
                      .ignore_eos = true,
                      .top_logprobs = 2,
                      .on_token = [&out, s](const GeneratedToken& t) {
                        out.ids[s].push_back(t.id);
                        out.logprobs[s].push_back(t.logprobs != nullptr ? t.logprobs->logprob : NAN);
                        return true;
                      }});
  }
  while (!scheduler.idle()) scheduler.step();
  for (const std::vector<int32_t>& ids : out.ids) EXPECT_EQ(ids.size(), 24u);
  return out;
}

// Seeded draws taken into the decode graphs (ForwardBatch::draw) give the tokens and
// logprobs of draws after the step: without graphs (four sequences fill bucket 4, so both
// models' GEMMs see the same rows and the logits agree bit for bit), with a repetition
// penalty (the sampler draws after the bucket's other graph), and in a padded bucket on
// the same model, where a logit bias of 0 sends the draw after the replay.
TEST(DecodeGraphsGpu, SeededTokensDrawnInsideTheGraphsMatchDrawsAfterTheStep) {
  GENRT_REQUIRE_GPU();
  const LlamaConfig config = graph_test_config();
  const LlamaModel with = random_llama_model(config, 17, {.device = Device::cuda, .max_step_seqs = 8});
  const LlamaModel without =
      random_llama_model(config, 17, {.device = Device::cuda, .max_step_seqs = 8, .cuda_graphs = false});
  expect_same(seeded(with, 4, 1.0f), seeded(without, 4, 1.0f), "graphs against none");
  expect_same(seeded(with, 4, 1.3f), seeded(without, 4, 1.3f), "with a repetition penalty");
  const Drawn inside = seeded(with, 3, 1.0f), after = seeded(with, 3, 1.0f, {{0, 0.0f}});
  expect_same(inside, after, "a padded bucket's draw inside its graph against after it");
  EXPECT_NE(inside.ids[0], inside.ids[1]);  // seeded draws, not a greedy walk
  EXPECT_EQ(with.captured_graphs(), 2);     // bucket 4 with its draw, and without
}

// Decode steps of `sequences` sequences with fixed tokens (not sampled), each step padded
// to `rows` rows (as a graph's bucket runs it) and its logits downloaded: prompts of
// `prompt` tokens, then token 40 + step.
std::vector<std::vector<float>> decode_logits(const CausalLM& model, KvCache& cache, int64_t sequences, int64_t rows,
                                              int64_t prompt, int steps) {
  std::vector<BlockTable> tables(static_cast<size_t>(sequences));
  ForwardBatch prefill;
  for (int64_t s = 0; s < sequences; ++s) {
    EXPECT_TRUE(cache.reserve(tables[s], prompt + steps));
    prefill.sequences.push_back(
        {.first_token = std::ssize(prefill.tokens), .n_tokens = prompt, .start_pos = 0, .blocks = &tables[s]});
    for (int64_t t = 0; t < prompt; ++t) prefill.tokens.push_back(static_cast<int32_t>((7 * t + 13 * s + 1) % 500));
  }
  model.forward(prefill, cache, LogitsFor::last_token);
  std::vector<std::vector<float>> out;
  for (int step = 0; step < steps; ++step) {
    ForwardBatch decode;
    for (int64_t s = 0; s < sequences; ++s) {
      decode.sequences.push_back({.first_token = s, .n_tokens = 1, .start_pos = prompt + step, .blocks = &tables[s]});
      decode.tokens.push_back(40 + step);
    }
    const ForwardBatch batch = rows > sequences ? pad_decode_batch(decode, rows, cache.padding_table()) : decode;
    const Tensor logits = model.device_runtime()->download_f32(model.forward(batch, cache, LogitsFor::last_token));
    out.emplace_back(logits.data<float>(), logits.data<float>() + sequences * logits.dim(1));  // the real rows
  }
  for (BlockTable& table : tables) cache.release(table);
  return out;
}

double worst_difference(const std::vector<std::vector<float>>& got, const std::vector<std::vector<float>>& want) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t step = 0; step < got.size() && step < want.size(); ++step) {
    EXPECT_EQ(got[step].size(), want[step].size());
    const size_t n = std::min(got[step].size(), want[step].size());
    worst = std::max(worst, max_rel_diff(got[step].data(), want[step].data(), n));
  }
  return worst;
}

TEST(DecodeGraphsGpu, PaddedBucketsMatchTheSamePaddedStepLaunchedKernelByKernel) {
  GENRT_REQUIRE_GPU();
  const LlamaModel model = random_llama_model(graph_test_config(), 5, {.device = Device::cuda, .max_step_seqs = 8});
  const LlamaModel eager = random_llama_model(graph_test_config(), 5,
                                              {.device = Device::cuda, .max_step_seqs = 8, .cuda_graphs = false});
  KvCache cache = model.make_kv_cache(128, 16), eager_cache = eager.make_kv_cache(128, 16);
  eager_cache.set_aside_padding_block();
  capture_decode_graphs(model, cache);
  EXPECT_EQ(model.captured_graphs(), 8);  // 1, 2, 4, 8, each with the draw and without
  const uint64_t captures = model.device_runtime()->graph_captures();
  // Three sequences replay the graph of 4. Contexts inside one key tile: bitwise equal.
  const auto graphed = [&](KvCache& c, int64_t sequences, int64_t rows, int64_t prompt, int steps) {
    return decode_logits(model, c, sequences, rows, prompt, steps);
  };
  const auto launched = [&](int64_t sequences, int64_t rows, int64_t prompt, int steps) {
    return decode_logits(eager, eager_cache, sequences, rows, prompt, steps);
  };
  EXPECT_EQ(worst_difference(graphed(cache, 3, 4, 5, 5), launched(3, 4, 5, 5)), 0.0);
  // Contexts of ~300 keys: the graph's decode splits (chosen for the whole context) cut the
  // keys differently from the launched step's, so fp32 sums differ in order: bf16 rounding.
  EXPECT_LE(worst_difference(graphed(cache, 3, 4, 300, 4), launched(3, 4, 300, 4)), 1e-2);
  EXPECT_EQ(model.device_runtime()->graph_captures(), captures);  // nothing recaptured
  // A remade cache lies at the same addresses: the graphs replay on it, still right.
  KvCache other = model.make_kv_cache(128, 16);
  EXPECT_EQ(worst_difference(graphed(other, 2, 2, 5, 2), launched(2, 2, 5, 2)), 0.0);
  EXPECT_EQ(model.device_runtime()->graph_captures(), captures);
}

// At steady state a decode step blocks the host once (its sampled ids) and allocates no
// device memory, with graphs and without, its tokens drawn inside the step or after it.
TEST(DecodeGraphsGpu, AStepSynchronizesOnceAndAllocatesNothing) {
  GENRT_REQUIRE_GPU();
  for (const bool graphs : {true, false}) {
    for (const bool draws : {true, false}) {
      const std::string what = fmt::format("graphs {}, draw in the step {}", graphs, draws);
      const LlamaModel model = random_llama_model(graph_test_config(), 9,
                                                  {.device = Device::cuda, .max_step_seqs = 8, .cuda_graphs = graphs});
      KvCache cache = model.make_kv_cache(64, 16);
      DeviceRuntime& runtime = *model.device_runtime();
      constexpr int64_t kSequences = 4, kSteps = 12;
      const std::vector<RowSampling> rows(kSequences, RowSampling{.params = {.temperature = 0.8f, .seed = 3}});
      const auto forward_and_sample = [&](ForwardBatch& batch) {
        if (draws) batch.draw = step_draw(rows, &runtime);
        const Tensor logits = model.forward(batch, cache, LogitsFor::last_token);
        return collect_sampling(launch_sampling(logits, rows, &runtime, draws ? batch.draw->ids : Tensor()));
      };
      std::vector<BlockTable> tables(kSequences);
      ForwardBatch batch;
      for (int64_t s = 0; s < kSequences; ++s) {
        ASSERT_TRUE(cache.reserve(tables[s], 4 + kSteps));
        batch.sequences.push_back({.first_token = 4 * s, .n_tokens = 4, .start_pos = 0, .blocks = &tables[s]});
        batch.tokens.insert(batch.tokens.end(), {1, static_cast<int32_t>(5 + s), 6, 7});
      }
      std::vector<SampledToken> sampled = forward_and_sample(batch);
      uint64_t syncs = 0, replays = 0;
      size_t free_before = 0, free_after = 0, total = 0;
      for (int64_t step = 0; step < kSteps; ++step) {
        if (step == 2) {  // past the first decode step of the bucket (its capture)
          syncs = runtime.host_syncs();
          replays = runtime.graph_replays();
          ASSERT_EQ(cudaMemGetInfo(&free_before, &total), cudaSuccess);
        }
        ForwardBatch decode;
        for (int64_t s = 0; s < kSequences; ++s) {
          decode.sequences.push_back({.first_token = s, .n_tokens = 1, .start_pos = 4 + step, .blocks = &tables[s]});
          decode.tokens.push_back(sampled[s].id);
        }
        sampled = forward_and_sample(decode);
      }
      ASSERT_EQ(cudaMemGetInfo(&free_after, &total), cudaSuccess);
      EXPECT_EQ(runtime.host_syncs() - syncs, static_cast<uint64_t>(kSteps - 2)) << what;
      EXPECT_EQ(runtime.graph_replays() - replays, graphs ? static_cast<uint64_t>(kSteps - 2) : 0u) << what;
      EXPECT_EQ(free_after, free_before) << what;
    }
  }
}

// Asynchronous scheduling on the GPU: the tokens of synchronous scheduling (the same steps'
// shapes, launched earlier), with the device's sampled ids feeding the next step; and at
// steady state one host synchronization per step, the read-back of the step before.
TEST(DecodeGraphsGpu, AsynchronousSchedulingMatchesSynchronousAndBlocksOncePerStep) {
  GENRT_REQUIRE_GPU();
  const LlamaModel model = random_llama_model(graph_test_config(), 13, {.device = Device::cuda, .max_step_seqs = 8});
  std::vector<std::vector<int32_t>> tokens[2];
  for (const bool async : {false, true}) {
    KvCache cache = model.make_kv_cache(64, 16);
    BatchScheduler s(model, cache, {.async_scheduling = async});
    std::vector<std::vector<int32_t>>& out = tokens[async ? 1 : 0];
    out.resize(4);
    for (int32_t i = 0; i < 4; ++i) {
      s.submit({.prompt = {1, 20 + i, 7, 9},
                .max_new_tokens = 24,
                .sampling = {.temperature = 0},
                .ignore_eos = true,
                .on_token = [&out, i](const GeneratedToken& t) {
                  out[i].push_back(t.id);
                  return true;
                }});
    }
    DeviceRuntime& runtime = *model.device_runtime();
    uint64_t syncs = 0;
    for (int step = 0; !s.idle(); ++step) {
      if (step == 4) syncs = runtime.host_syncs();  // past the prompts and the bucket's capture
      if (step == 14) EXPECT_EQ(runtime.host_syncs() - syncs, 10u) << (async ? "asynchronous" : "synchronous");
      s.step();
    }
    if (async) EXPECT_GT(s.counts().overlapped_steps, 15);
  }
  EXPECT_EQ(tokens[1], tokens[0]);
}

}  // namespace
}  // namespace genrt
