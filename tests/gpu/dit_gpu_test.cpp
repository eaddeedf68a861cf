// The DiT denoising loop on the GPU against diffusers' pipeline golden and the CPU
// reference: bf16 and fp16 weights and activations, fp32 latents. Skip without a device.

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

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

INSTANTIATE_TEST_SUITE_P(Dtypes, DitGpu, ::testing::Values(DType::bf16, DType::f16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

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
