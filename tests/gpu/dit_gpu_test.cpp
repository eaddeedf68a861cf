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

// The golden loop: 10 guided DDIM steps from saved noise, latents reaching ~100. The
// activations round to 8 (bf16) or 11 (fp16) bits at every op of 10 x 2 blocks, and
// guidance 4 amplifies the conditional/unconditional difference, so the tolerances are
// those of a 16-bit forward pass (~1e-2 relative) grown over the steps.
double loop_tolerance(DType dtype) { return dtype == DType::bf16 ? 8e-2 : 2e-2; }

class DitGpu : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

TEST_P(DitGpu, GuidedDdimLoopMatchesDiffusersWithoutAllocating) {
  const DType dtype = GetParam();
  const auto& g = pipeline_golden();
  const DitPipeline pipeline = DitPipeline::load(tiny_dit(), g.at("scheduler").get<std::string>(), gpu(dtype));
  const DiffusionRequest request{.class_labels = g.at("class_labels").get<std::vector<int32_t>>(),
                                 .guidance = g.at("guidance").get<double>(),
                                 .steps = g.at("steps").get<int64_t>(),
                                 .init_noise = read_npy(test::data_dir() / g.at("init_noise").get<std::string>())};
  uint64_t at_first_step = 0;
  const DiffusionResult result = pipeline.run(request, [&](const DiffusionProgress& p) {
    if (p.step == 1) at_first_step = device_allocation_count(Device::cuda);
    EXPECT_EQ(device_allocation_count(Device::cuda), at_first_step) << "cudaMalloc in step " << p.step;
    return true;
  });
  ASSERT_EQ(result.steps_done, 10);
  EXPECT_EQ(result.latents.device(), Device::cpu);
  const auto want = g.at("latents").get<std::vector<float>>();
  const double err = test::max_rel_diff(result.latents.data<float>(), want.data(), want.size());
  EXPECT_LE(err, loop_tolerance(dtype)) << dtype_name(dtype);
  RecordProperty("loop_max_rel_diff_" + std::string(dtype_name(dtype)), std::to_string(err));
}

TEST_P(DitGpu, SeededStochasticRunFollowsTheCpu) {
  // The same Philox noise on both devices: a DDPM run (noise at every step) stays close to
  // the CPU's, step noise included.
  const DType dtype = GetParam();
  const DiffusionRequest request{.class_labels = {3, 7}, .guidance = 2.0, .steps = 4, .seed = 11};
  const DiffusionResult cpu = DitPipeline::load(tiny_dit(), "ddpm").run(request);
  const DiffusionResult on_gpu = DitPipeline::load(tiny_dit(), "ddpm", gpu(dtype)).run(request);
  const double err = test::max_rel_diff(on_gpu.latents.data<float>(), cpu.latents.data<float>(), cpu.latents.numel());
  EXPECT_LE(err, loop_tolerance(dtype));
  RecordProperty("ddpm_vs_cpu_max_rel_diff_" + std::string(dtype_name(dtype)), std::to_string(err));
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
