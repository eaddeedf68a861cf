// A seeded run draws the same tokens on the CPU and the GPU: the batch scheduler samples
// through the same op entries on either device (runtime/engine/step_sampler.h). A real
// model's GPU logits differ from the CPU's in bf16 rounding, which would move draws near a
// threshold, so this model computes the same fp32 logits for both: a fixed function of each
// sequence's last token and position, left in a DeviceRuntime's step workspace on the GPU
// as a real model leaves them. Skips without a device.

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <span>
#include <vector>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/sampling_ops.h"
#include "runtime/core/error.h"
#include "runtime/memory/device_arena.h"
#include "runtime/engine/scheduler.h"
#include "tests/gpu/gpu_test_util.h"

namespace genrt {
namespace {

constexpr int64_t kVocab = 1000 + 17;  // not a multiple of the sampling kernel's block
constexpr int64_t kContext = 96;
constexpr int64_t kMaxRows = 16;

class ScriptedLM final : public CausalLM {
 public:
  explicit ScriptedLM(Device device) {
    spec_ = {.architecture = "scripted",
             .vocab_size = kVocab,
             .context_length = kContext,
             .hidden_size = 1,
             .num_layers = 1,
             .num_kv_heads = 1,
             .head_dim = 1};
    if (device == Device::cuda) {
      const MemoryRequest request = memory_request({});
      runtime_ = std::make_unique<DeviceRuntime>(std::span(&request, 1), 0.5);
    }
  }

  const ModelSpec& spec() const override { return spec_; }
  DeviceRuntime* device_runtime() const override { return runtime_.get(); }
  // The cache is never read: the logits are a function of the tokens alone.
  KvCache make_kv_cache(int64_t blocks, int64_t block_size) const override {
    return KvCache(spec_.kv_cache_shape(blocks, block_size), Device::cpu);
  }
  MemoryRequest memory_request(const DeviceOptions&) const override {
    return {.name = "scripted",
            .weight_bytes = DeviceArena::kAlignment,
            .workspace_bytes = DeviceArena::footprint({kMaxRows, kVocab}, DType::f32) +
                               ops::sampling_workspace_bytes(kMaxRows, kVocab, kContext)};
  }
  void place_on(std::shared_ptr<DeviceRuntime>, const DeviceOptions&) override {
    fail("the scripted model makes its own runtime");
  }

  Tensor forward(const ForwardBatch& batch, KvCache&, LogitsFor) const override {
    const auto rows = static_cast<int64_t>(batch.sequences.size());
    Tensor logits = Tensor::zeros({rows, kVocab}, DType::f32);
    for (int64_t r = 0; r < rows; ++r) {
      const SequenceChunk& seq = batch.sequences[r];
      const int32_t last = batch.tokens[seq.first_token + seq.n_tokens - 1];
      const float position = static_cast<float>(seq.start_pos + seq.n_tokens);
      float* row = logits.data<float>() + r * kVocab;
      for (int64_t v = 0; v < kVocab; ++v) {
        row[v] = 3.0f * std::sin(0.011f * static_cast<float>(v * (1 + last % 7)) + 0.3f * position + last);
      }
      row[(last * 13 + 5) % kVocab] += 4.0f;  // a likely next token
    }
    if (!runtime_) return logits;
    const DeviceRuntime::Step step(*runtime_);
    return runtime_->upload(logits);
  }

 private:
  ModelSpec spec_;
  std::unique_ptr<DeviceRuntime> runtime_;
};

struct Outcome {
  std::vector<int32_t> tokens;
  std::vector<TokenLogprobs> logprobs;
};

// Six requests with different parameters, stepped with a small token budget so that
// prompts are read over several steps (rows that draw nothing) beside decodes.
std::vector<Outcome> generate(const CausalLM& model) {
  const std::vector<SamplingParams> params = {
      {.temperature = 0.0f},
      {.temperature = 1.0f, .seed = 1},
      {.temperature = 0.7f, .top_k = 40, .seed = 2},
      {.temperature = 1.0f, .top_p = 0.8f, .repetition_penalty = 1.3f, .seed = 3},
      {.temperature = 1.5f, .min_p = 0.1f, .seed = 4},
      {.temperature = 1.0f, .repetition_penalty = 0.9f, .seed = 3},
  };
  KvCache cache = model.make_kv_cache(64, 16);
  BatchScheduler scheduler(model, cache, {.max_batch_tokens = 8});
  std::vector<Outcome> out(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    std::vector<int32_t> prompt;
    for (size_t t = 0; t < 1 + 4 * i; ++t) prompt.push_back(static_cast<int32_t>((t * 37 + i * 101) % kVocab));
    scheduler.submit({.prompt = prompt,
                      .max_new_tokens = 40,
                      .sampling = params[i],
                      .ignore_eos = true,
                      .top_logprobs = i % 2 == 0 ? 5 : -1,
                      .on_token = [&out, i](const GeneratedToken& t) {
                        out[i].tokens.push_back(t.id);
                        if (t.logprobs != nullptr) out[i].logprobs.push_back(*t.logprobs);
                        return true;
                      }});
  }
  while (!scheduler.idle()) scheduler.step();
  return out;
}

TEST(SeededGenerationGpu, DrawsTheSameTokensAndLogprobsOnBothDevices) {
  GENRT_REQUIRE_GPU();
  const ScriptedLM cpu(Device::cpu), gpu(Device::cuda);
  const std::vector<Outcome> want = generate(cpu), got = generate(gpu);
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(want[i].tokens.size(), 40u);
    EXPECT_EQ(got[i].tokens, want[i].tokens) << "request " << i;
    ASSERT_EQ(got[i].logprobs.size(), want[i].logprobs.size()) << "request " << i;
    for (size_t t = 0; t < want[i].logprobs.size(); ++t) {
      const TokenLogprobs &g = got[i].logprobs[t], &w = want[i].logprobs[t];
      // log_z's fp64 sum is added in another order on the GPU: an fp32 ulp or two of it.
      EXPECT_NEAR(g.logprob, w.logprob, 4e-6) << "request " << i << " token " << t;
      ASSERT_EQ(g.top.size(), w.top.size());
      for (size_t k = 0; k < w.top.size(); ++k) {
        EXPECT_EQ(g.top[k].first, w.top[k].first) << "request " << i << " token " << t << " top " << k;
        EXPECT_NEAR(g.top[k].second, w.top[k].second, 4e-6);
      }
    }
  }
}

}  // namespace
}  // namespace genrt
