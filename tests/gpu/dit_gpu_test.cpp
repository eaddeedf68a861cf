// The DiT denoising loop on the GPU against diffusers' pipeline golden and the CPU
// reference: bf16 and fp16 weights and activations, fp32 latents. Skip without a device.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "runtime/backend/device_runtime.h"
#include "runtime/core/device.h"
#include "runtime/diffusion/dit_pipeline.h"
#include "runtime/io/json_file.h"
#include "runtime/io/npy.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::filesystem::path tiny_dit() { return test::data_dir() / "tiny_dit"; }

const nlohmann::json& pipeline_golden() {
  static const nlohmann::json j = read_json_file(test::data_dir() / "dit_golden.json").at("pipeline");
  return j;
}

DiffusionDevice gpu(DType dtype, int64_t max_images = 2) {
  return {.device = Device::cuda, .dtype = dtype, .gpu_memory = 0.5, .max_images = max_images};
}

// One rounding of `dtype` (2^-9 for bf16, 2^-12 for fp16), relative.
double unit_roundoff(DType dtype) { return dtype == DType::bf16 ? 0x1p-9 : 0x1p-12; }

// How far the CPU loop's final latents move (relative L2) when the initial noise moves by
// one rounding of `dtype`, with alternating signs. The golden loop (10 DDIM steps at
// guidance 4, latents reaching ~680) amplifies such a change about 2.3x in L2 and 100x in
// the largest element: per-element comparisons cannot hold a 16-bit run to 16-bit error.
double loop_sensitivity(DiffusionRequest request, DType dtype) {
  const DitPipeline cpu = DitPipeline::load(tiny_dit(), pipeline_golden().at("scheduler").get<std::string>());
  const DiffusionResult base = cpu.run(request);
  float* noise = request.init_noise.data<float>();
  for (int64_t i = 0; i < request.init_noise.numel(); ++i) noise[i] *= 1.0f + (i % 2 ? 1 : -1) * unit_roundoff(dtype);
  const DiffusionResult moved = cpu.run(request);
  return test::relative_l2(moved.latents.data<float>(), base.latents.data<float>(), base.latents.numel());
}

// A 16-bit run rounds at every op: ~40 ops a block, 2 blocks, 10 steps, each a rounding
// like the one loop_sensitivity applies once at the input. 100x that sensitivity bounds
// rounding; a wrong op (a stride, a mask, a missing term) moves the latents by O(1).
constexpr double kRoundingsBound = 100.0;

DiffusionRequest golden_request() {
  const auto& g = pipeline_golden();
  return {.class_labels = g.at("class_labels").get<std::vector<int32_t>>(),
          .guidance = g.at("guidance").get<double>(),
          .steps = g.at("steps").get<int64_t>(),
          .init_noise = read_npy(test::data_dir() / g.at("init_noise").get<std::string>())};
}

class DitGpu : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

// One guided step, GPU against CPU: a single 16-bit forward pass, whose error is a few
// roundings (~1e-2 relative for bf16), amplified by guidance 4 and DDIM's 1/sqrt(alpha_bar)
// at the first timestep: 4e-2 (bf16) and 6e-3 (fp16).
TEST_P(DitGpu, OneGuidedStepFollowsTheCpu) {
  const DType dtype = GetParam();
  DiffusionRequest request = golden_request();
  request.steps = 1;
  const std::string scheduler = pipeline_golden().at("scheduler").get<std::string>();
  const DiffusionResult cpu = DitPipeline::load(tiny_dit(), scheduler).run(request);
  const DiffusionResult on_gpu = DitPipeline::load(tiny_dit(), scheduler, gpu(dtype)).run(request);
  const double err = test::relative_l2(on_gpu.latents.data<float>(), cpu.latents.data<float>(), cpu.latents.numel());
  EXPECT_LE(err, dtype == DType::bf16 ? 4e-2 : 6e-3) << dtype_name(dtype);
  RecordProperty("one_step_rel_l2_" + std::string(dtype_name(dtype)), std::to_string(err));
}

TEST_P(DitGpu, GuidedDdimLoopMatchesDiffusersWithoutAllocating) {
  const DType dtype = GetParam();
  const auto& g = pipeline_golden();
  const DiffusionRequest request = golden_request();
  const DitPipeline pipeline = DitPipeline::load(tiny_dit(), g.at("scheduler").get<std::string>(), gpu(dtype));
  uint64_t at_first_step = 0;
  const DiffusionResult result = pipeline.run(request, [&](const DiffusionProgress& p) {
    if (p.step == 1) at_first_step = device_allocation_count(Device::cuda);
    EXPECT_EQ(device_allocation_count(Device::cuda), at_first_step) << "cudaMalloc in step " << p.step;
    return true;
  });
  ASSERT_EQ(result.steps_done, 10);
  EXPECT_EQ(result.latents.device(), Device::cpu);
  const auto want = g.at("latents").get<std::vector<float>>();
  const double err = test::relative_l2(result.latents.data<float>(), want.data(), want.size());
  const double sensitivity = loop_sensitivity(golden_request(), dtype);
  EXPECT_LE(err, kRoundingsBound * sensitivity) << dtype_name(dtype) << ": sensitivity " << sensitivity;
  RecordProperty("loop_rel_l2_" + std::string(dtype_name(dtype)), std::to_string(err));
  RecordProperty("loop_sensitivity_" + std::string(dtype_name(dtype)), std::to_string(sensitivity));
}

TEST_P(DitGpu, SeededStochasticRunFollowsTheCpu) {
  // The same Philox noise on both devices: a DDPM run (noise at every step) stays close to
  // the CPU's, step noise included; 4 steps at guidance 2 amplify rounding far less than
  // the golden loop: kRoundingsBound roundings of the dtype, relative L2.
  const DType dtype = GetParam();
  const DiffusionRequest request{.class_labels = {3, 7}, .guidance = 2.0, .steps = 4, .seed = 11};
  const DiffusionResult cpu = DitPipeline::load(tiny_dit(), "ddpm").run(request);
  const DiffusionResult on_gpu = DitPipeline::load(tiny_dit(), "ddpm", gpu(dtype)).run(request);
  const double err = test::relative_l2(on_gpu.latents.data<float>(), cpu.latents.data<float>(), cpu.latents.numel());
  EXPECT_LE(err, kRoundingsBound * unit_roundoff(dtype)) << dtype_name(dtype);
  RecordProperty("ddpm_vs_cpu_rel_l2_" + std::string(dtype_name(dtype)), std::to_string(err));
}

// A run's steps replay the CUDA graph its first step captured: the same kernels on the same
// buffers, so the latents are bitwise those of launching every kernel, across two runs
// (each captures its own graph) and with step noise (DDPM) that the graph leaves outside.
// Each run with graphs captures once, replays every later step, and synchronizes once more
// than without (the wait before its capture); a capture that failed and fell back to
// launching would give the same bits, so the runtime's graph counts are what tell.
TEST_P(DitGpu, CudaGraphStepsEqualLaunchedStepsBitwise) {
  const DType dtype = GetParam();
  for (const char* scheduler : {"ddim", "ddpm"}) {
    DitPipeline pipeline = DitPipeline::load(tiny_dit(), scheduler, gpu(dtype));
    const DeviceRuntime& runtime = *pipeline.model().device_runtime();
    const DiffusionRequest request{.class_labels = {3, 7}, .guidance = 2.0, .steps = 5, .seed = 5};
    pipeline.set_cuda_graphs(false);
    uint64_t syncs = runtime.host_syncs(), captures = runtime.graph_captures(), replays = runtime.graph_replays();
    const DiffusionResult launched = pipeline.run(request);
    const uint64_t launched_syncs = runtime.host_syncs() - syncs;
    EXPECT_EQ(runtime.graph_captures() - captures + runtime.graph_replays() - replays, 0u) << scheduler;
    pipeline.set_cuda_graphs(true);
    for (int run = 0; run < 2; ++run) {
      syncs = runtime.host_syncs(), captures = runtime.graph_captures(), replays = runtime.graph_replays();
      const DiffusionResult replayed = pipeline.run(request);
      EXPECT_EQ(runtime.host_syncs() - syncs, launched_syncs + 1) << scheduler << ", run " << run;
      EXPECT_EQ(runtime.graph_captures() - captures, 1u) << scheduler << ", run " << run;
      EXPECT_EQ(runtime.graph_replays() - replays, static_cast<uint64_t>(request.steps - 1))
          << scheduler << ", run " << run;
      ASSERT_EQ(replayed.latents.numel(), launched.latents.numel());
      EXPECT_EQ(std::memcmp(replayed.latents.raw(), launched.latents.raw(), launched.latents.nbytes()), 0)
          << scheduler << ", run " << run;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, DitGpu, ::testing::Values(DType::bf16, DType::f16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// The workspace keeps its forward's graph; a replay reads the timestep and the class labels
// uploaded before it (each changed alone), not those of the captured step, and equals a
// launched forward; other buffers are another graph's. A replayed forward and its download
// synchronize once, a captured one twice (the wait before the capture).
TEST(DitGpuGraphs, ReplaysReadEachStepsInputs) {
  GENRT_REQUIRE_GPU();
  DitPipeline pipeline = DitPipeline::load(tiny_dit(), "ddim", gpu(DType::bf16));
  const DitModel& model = pipeline.model();
  const DitConfig& c = model.config();
  DeviceRuntime& runtime = *model.device_runtime();
  const DeviceRuntime::PersistentScope buffers(runtime);
  DitWorkspace ws = model.make_workspace(2);
  Tensor noise = Tensor::zeros({2, c.in_channels, c.sample_size, c.sample_size}, DType::f32);
  for (int64_t i = 0; i < noise.numel(); ++i) noise.data<float>()[i] = std::sin(0.37f * static_cast<float>(i));
  const Tensor latents = runtime.persistent(noise.shape(), DType::f32);
  runtime.copy_in(noise, latents);
  const Shape out_shape = {2, c.out_channels, c.sample_size, c.sample_size};
  Tensor output = runtime.persistent(out_shape, DType::f32), other_output = runtime.persistent(out_shape, DType::f32);
  uint64_t syncs = 0;  // of the last forward and its download
  auto forward = [&](float timestep, int32_t label, Tensor& out) {
    const std::vector<float> timesteps(2, timestep);
    const std::vector<int32_t> labels(2, label);
    const uint64_t before = runtime.host_syncs();
    {
      DeviceRuntime::Step step(runtime);
      model.forward(latents, timesteps, labels, ws, out);
    }
    const Tensor host = runtime.download_f32(out);
    syncs = runtime.host_syncs() - before;
    return host;
  };
  auto same = [](const Tensor& a, const Tensor& b) { return std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0; };
  pipeline.set_cuda_graphs(false);
  const Tensor launched_t20 = forward(20.0f, 3, output), launched_label7 = forward(500.0f, 7, output);
  const Tensor launched = forward(500.0f, 3, output);
  pipeline.set_cuda_graphs(true);
  EXPECT_TRUE(same(forward(500.0f, 3, output), launched));  // launched, then captured
  ASSERT_TRUE(ws.graph.captured());
  EXPECT_EQ(syncs, 2u);
  EXPECT_TRUE(same(forward(20.0f, 3, output), launched_t20)) << "another timestep";
  EXPECT_EQ(syncs, 1u);
  EXPECT_TRUE(same(forward(500.0f, 7, output), launched_label7)) << "another class label";
  EXPECT_EQ(syncs, 1u);
  EXPECT_FALSE(same(launched_t20, launched) || same(launched_label7, launched)) << "inputs that change nothing";
  EXPECT_TRUE(same(forward(500.0f, 3, other_output), launched)) << "another output buffer";
  EXPECT_EQ(syncs, 2u);  // captured again
  EXPECT_TRUE(same(forward(500.0f, 3, other_output), launched));
  EXPECT_EQ(syncs, 1u);
}

TEST(DitGpuErrors, MoreImagesThanPlannedAndNaNAreClearErrors) {
  GENRT_REQUIRE_GPU();
  const DitPipeline pipeline = DitPipeline::load(tiny_dit(), "ddim", gpu(DType::bf16, 1));
  EXPECT_ERROR(pipeline.run({.class_labels = {1, 2}, .steps = 2}),
               "diffusion: 2 images, but the GPU memory was planned for at most 1 per run");
  Tensor noise = Tensor::zeros({1, 4, 8, 8}, DType::f32);
  noise.data<float>()[17] = NAN;
  EXPECT_ERROR(pipeline.run({.class_labels = {1}, .steps = 3, .init_noise = noise}),
               "NaN or infinite latent values after step 1 of 3");
}

}  // namespace
}  // namespace genrt
