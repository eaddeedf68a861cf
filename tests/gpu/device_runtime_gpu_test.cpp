// One DeviceRuntime shared by two models (a text model and a DiT, as a text-to-image
// pipeline will hold them), and GPT-2, OPT and BERT placed on the GPU through their named
// weights: each against the CPU reference. Skip, saying why, without a device.

#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "runtime/backend/device_runtime.h"
#include "runtime/memory/device_arena.h"
#include "runtime/models/bert/bert_model.h"
#include "runtime/models/dit/dit_model.h"
#include "runtime/models/load_model.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

const DeviceOptions kGpu{.device = Device::cuda, .dtype = DType::bf16, .gpu_memory = 0.5};
const DitDeviceOptions kDitGpu{.dtype = DType::bf16, .gpu_memory = 0.5, .max_batch = 2};
const std::vector<int32_t> kPrompt = {1, 7, 42, 99, 3, 250, 11};

// Bf16 weights and activations with fp32 accumulation against the fp32 CPU, for the tiny
// two-layer models whose logits are not near-chaotic in rounding.
void expect_close_logits(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape());
  double worst = 0.0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const float w = want.data<float>()[i];
    const double excess = std::abs(got.data<float>()[i] - w) - (0.1 + 0.02 * std::abs(w));
    if (!(excess <= worst)) worst = excess;  // NaN lands here too
  }
  EXPECT_LE(worst, 0.0);
}

Shape latent_shape(const DitConfig& c) { return {2, c.in_channels, c.sample_size, c.sample_size}; }
Shape output_shape(const DitConfig& c) { return {2, c.out_channels, c.sample_size, c.sample_size}; }

// The test's own device buffers (the DiT's input and output), planned like a pipeline's loop.
MemoryRequest test_buffers_request(const DitConfig& c) {
  return {.name = "test buffers",
          .persistent_bytes = DeviceArena::footprint(latent_shape(c), DType::f32) +
                              DeviceArena::footprint(output_shape(c), DType::f32)};
}

// The DiT's output for two samples (one of them the null class) at timestep 500.
Tensor dit_output(const DitModel& model) {
  const DitConfig& c = model.config();
  const std::vector<float> timesteps = {500.0f, 500.0f};
  const std::vector<int32_t> labels = {3, static_cast<int32_t>(model.null_class())};
  Tensor latents = Tensor::zeros(latent_shape(c), DType::f32);
  for (int64_t i = 0; i < latents.numel(); ++i) latents.data<float>()[i] = std::sin(0.37f * static_cast<float>(i));
  DeviceRuntime* runtime = model.device_runtime();
  if (runtime == nullptr) {
    DitWorkspace ws = model.make_workspace(2);
    Tensor out = Tensor::zeros(output_shape(c), DType::f32);
    model.forward(latents, timesteps, labels, ws, out);
    return out;
  }
  const DeviceRuntime::PersistentScope buffers(*runtime);
  DitWorkspace ws = model.make_workspace(2);
  Tensor device_latents = runtime->persistent(latent_shape(c), DType::f32);
  Tensor device_out = runtime->persistent(output_shape(c), DType::f32);
  runtime->copy_in(latents, device_latents);
  DeviceRuntime::Step step(*runtime);
  model.forward(device_latents, timesteps, labels, ws, device_out);
  return runtime->download_f32(device_out);
}

class DeviceRuntimeGpu : public ::testing::Test {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

TEST_F(DeviceRuntimeGpu, TwoModelsShareOnePlanAndEachMatchesTheCpu) {
  const auto cpu_llama = load_causal_lm(test::data_dir() / "tiny_llama");
  const DitModel cpu_dit = load_dit(test::data_dir() / "tiny_dit");
  const Tensor want_logits = test::prefill_logits(*cpu_llama, kPrompt);
  const Tensor want_dit = dit_output(cpu_dit);

  auto llama = load_causal_lm(test::data_dir() / "tiny_llama");
  DitModel dit = load_dit(test::data_dir() / "tiny_dit");
  const MemoryRequest requests[] = {llama->memory_request(kGpu), dit.memory_request(kDitGpu),
                                    test_buffers_request(dit.config())};
  auto runtime = std::make_shared<DeviceRuntime>(requests, 0.5);
  const MemoryPlan& plan = runtime->plan();
  ASSERT_EQ(plan.models.size(), 3u);
  EXPECT_EQ(plan.weight_bytes, requests[0].weight_bytes + requests[1].weight_bytes);
  EXPECT_EQ(plan.persistent_bytes, requests[1].persistent_bytes + requests[2].persistent_bytes);
  EXPECT_GT(plan.kv_blocks, 0);
  EXPECT_NE(plan.table().find("DiT"), std::string::npos) << plan.table();
  llama->place_on(runtime, kGpu);
  dit.place_on(runtime, kDitGpu);

  // Interleaved, as a pipeline runs them: each step resets the shared workspace.
  expect_close_logits(test::prefill_logits(*llama, kPrompt), want_logits);
  const Tensor got_dit = dit_output(dit);
  expect_close_logits(test::prefill_logits(*llama, kPrompt), want_logits);
  EXPECT_EQ(test::relative_l2(dit_output(dit).data<float>(), got_dit.data<float>(), got_dit.numel()), 0.0)
      << "a second run on the same runtime (its persistent buffers freed and made again)";
  // Relative L2 of one bf16 forward pass of the 2-block DiT: about a dozen roundings of
  // 2^-9 each, so 2% bounds rounding while a wrong op moves the output by O(1).
  EXPECT_LE(test::relative_l2(got_dit.data<float>(), want_dit.data<float>(), want_dit.numel()), 0.02);
}

TEST_F(DeviceRuntimeGpu, AModelThatWasNotPlannedIsRefused) {
  auto llama = load_causal_lm(test::data_dir() / "tiny_llama");
  DitModel dit = load_dit(test::data_dir() / "tiny_dit");
  const MemoryRequest only_the_dit = dit.memory_request(kDitGpu);
  auto runtime = std::make_shared<DeviceRuntime>(std::span(&only_the_dit, 1), 0.5);
  EXPECT_ERROR(llama->place_on(runtime, kGpu), "LlamaForCausalLM was not planned on this device runtime");
  DitDeviceOptions bigger = kDitGpu;
  bigger.max_batch = 4;
  EXPECT_ERROR(dit.place_on(runtime, bigger), "DiT was not planned on this device runtime with these options");
}

TEST_F(DeviceRuntimeGpu, StepsOfModelsSharingARuntimeDoNotNest) {
  DitModel dit = load_dit(test::data_dir() / "tiny_dit");
  const MemoryRequest request = dit.memory_request(kDitGpu);
  DeviceRuntime runtime(std::span(&request, 1), 0.5);
  DeviceRuntime::Step outer(runtime);
  EXPECT_ERROR(DeviceRuntime::Step{runtime}, "a step is already open on this device runtime");
}

TEST_F(DeviceRuntimeGpu, Gpt2RunsOnTheGpuThroughItsNamedWeights) {
  const Tensor want = test::prefill_logits(*load_causal_lm(test::data_dir() / "tiny_gpt2"), kPrompt);
  const Tensor got = test::prefill_logits(*load_causal_lm(test::data_dir() / "tiny_gpt2", kGpu), kPrompt);
  expect_close_logits(got, want);
}

TEST_F(DeviceRuntimeGpu, OptRunsOnTheGpuWithLayerNormBeforeAndAfter) {
  const std::vector<int32_t> prompt = {2, 7, 42, 99, 3, 120, 11};  // the tiny OPTs' vocabulary is 128
  for (const char* name : {"tiny_opt", "tiny_opt_post_ln"}) {
    const Tensor want = test::prefill_logits(*load_causal_lm(test::data_dir() / name), prompt);
    const Tensor got = test::prefill_logits(*load_causal_lm(test::data_dir() / name, kGpu), prompt);
    expect_close_logits(got, want);
  }
}

TEST_F(DeviceRuntimeGpu, BertEncodesOnTheGpuThroughItsNamedWeights) {
  const std::vector<int32_t> ids = {2, 72, 122, 157, 100, 4, 3};
  const BertModel cpu = load_bert(test::data_dir() / "tiny_bert");
  const BertModel gpu = load_bert(test::data_dir() / "tiny_bert", kGpu);
  expect_close_logits(gpu.encode(ids), cpu.encode(ids));
  expect_close_logits(gpu.mlm_logits(ids), cpu.mlm_logits(ids));
  const std::vector<std::vector<int32_t>> batch = {ids, {2, 50, 3}, ids};  // the two 7-token ones in one forward
  expect_close_logits(gpu.encode_batch(batch)[2], cpu.encode(ids));
}

}  // namespace
}  // namespace genrt
