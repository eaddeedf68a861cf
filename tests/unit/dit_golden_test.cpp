// The DiT denoiser and its class-conditional denoising loop against diffusers
// (tools/golden/dit.py): DiTTransformer2DModel's output for fixed inputs, and a 10-step
// DDIM run of diffusers' own DiTPipeline with classifier-free guidance from saved noise.

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "runtime/core/device.h"
#include "runtime/core/max_rel_diff.h"
#include "runtime/diffusion/dit_pipeline.h"
#include "runtime/io/json_file.h"
#include "runtime/io/npy.h"
#include "runtime/io/safetensors_writer.h"
#include "runtime/io/weight_store.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

const nlohmann::json& golden() {
  static const nlohmann::json j = read_json_file(test::data_dir() / "dit_golden.json");
  return j;
}

std::filesystem::path tiny_dit() { return test::data_dir() / "tiny_dit"; }

// The latents or output against diffusers' values, relative (genrt::max_rel_diff).
double max_rel_diff(const Tensor& got, const std::vector<float>& want) {
  EXPECT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  return genrt::max_rel_diff(got.data<float>(), want.data(), want.size());
}

// One forward pass, outputs O(1-10). Both sides are fp32, and the sinusoidal timestep
// features alone differ by up to 5e-5 from exact in torch's fp32 (sin/cos of t * freq
// with t = 999 amplify one ulp of the frequency); measured worst difference 5.7e-5.
constexpr double kForwardTolerance = 2e-4;
// Ten steps of the loop, each amplifying the previous differences (DDIM divides by
// sqrt(alpha_cumprod), guidance 4 scales the model's difference by 4); latents reach ~100.
// Measured worst difference 1.4e-3.
constexpr double kLoopTolerance = 5e-3;

TEST(DitGolden, ForwardMatchesDiffusers) {
  const DitModel model = load_dit(tiny_dit());
  const DitConfig& c = model.config();
  EXPECT_TRUE(model.has_null_class());
  EXPECT_TRUE(c.learned_sigma());
  for (const auto& g : golden().at("forward")) {
    const auto labels = g.at("class_labels").get<std::vector<int32_t>>();
    const auto timesteps = g.at("timesteps").get<std::vector<float>>();
    const auto batch = static_cast<int64_t>(labels.size());
    Tensor latents = Tensor::zeros({batch, c.in_channels, c.sample_size, c.sample_size}, DType::f32);
    const auto values = g.at("latents").get<std::vector<float>>();
    std::copy(values.begin(), values.end(), latents.data<float>());
    DitWorkspace ws = model.make_workspace(batch + 3);  // a larger workspace than needed
    Tensor out = Tensor::zeros({batch, c.out_channels, c.sample_size, c.sample_size}, DType::f32);
    model.forward(latents, timesteps, labels, ws, out);
    const double err = max_rel_diff(out, g.at("output").get<std::vector<float>>());
    EXPECT_LE(err, kForwardTolerance) << "batch " << batch;
    RecordProperty("forward_max_rel_diff_batch_" + std::to_string(batch), std::to_string(err));
  }
}

TEST(DitGolden, GuidedDdimLoopMatchesDiffusersPipeline) {
  const auto& g = golden().at("pipeline");
  const DitPipeline pipeline = DitPipeline::load(tiny_dit(), g.at("scheduler").get<std::string>());
  DiffusionRequest request{.class_labels = g.at("class_labels").get<std::vector<int32_t>>(),
                           .guidance = g.at("guidance").get<double>(),
                           .steps = g.at("steps").get<int64_t>(),
                           .init_noise = read_npy(test::data_dir() / g.at("init_noise").get<std::string>())};
  std::vector<double> seen_timesteps;
  uint64_t allocations_at_first_step = 0;
  const DiffusionResult result = pipeline.run(request, [&](const DiffusionProgress& p) {
    seen_timesteps.push_back(p.timestep);
    if (p.step == 1) allocations_at_first_step = device_allocation_count();
    // No buffer is allocated once the loop runs: every later step reuses the plan.
    EXPECT_EQ(device_allocation_count(), allocations_at_first_step) << "step " << p.step;
    return true;
  });
  EXPECT_EQ(result.steps_done, 10);
  EXPECT_FALSE(result.cancelled);
  EXPECT_EQ(seen_timesteps, g.at("timesteps").get<std::vector<double>>());
  const double err = max_rel_diff(result.latents, g.at("latents").get<std::vector<float>>());
  EXPECT_LE(err, kLoopTolerance);
  RecordProperty("loop_max_rel_diff", std::to_string(err));
}

TEST(DitPipeline, SeededRunsRepeatAndCallbackCancels) {
  const DitPipeline pipeline = DitPipeline::load(tiny_dit(), "euler");
  const DiffusionRequest request{.class_labels = {5}, .guidance = 1.0, .steps = 4, .seed = 3};
  const DiffusionResult a = pipeline.run(request);
  const DiffusionResult b = pipeline.run(request);
  EXPECT_EQ(test::max_abs_diff(a.latents.data<float>(), b.latents.data<float>(), a.latents.numel()), 0.0f);
  DiffusionRequest other = request;
  other.seed = 4;
  EXPECT_GT(test::max_abs_diff(a.latents.data<float>(), pipeline.run(other).latents.data<float>(),
                               a.latents.numel()),
            0.1f);
  const DiffusionResult cancelled = pipeline.run(request, [](const DiffusionProgress& p) { return p.step < 2; });
  EXPECT_TRUE(cancelled.cancelled);
  EXPECT_EQ(cancelled.steps_done, 2);
}

TEST(DitPipeline, StochasticSchedulerDrawsSeededNoise) {
  const DitPipeline pipeline = DitPipeline::load(tiny_dit(), "ddpm");
  const DiffusionRequest request{.class_labels = {1, 2}, .guidance = 2.0, .steps = 3, .seed = 9};
  const DiffusionResult a = pipeline.run(request), b = pipeline.run(request);
  EXPECT_EQ(test::max_abs_diff(a.latents.data<float>(), b.latents.data<float>(), a.latents.numel()), 0.0f);
}

TEST(DitPipeline, BadRequestsAreClearErrors) {
  const DitPipeline pipeline = DitPipeline::load(tiny_dit(), "ddim");
  EXPECT_ERROR(pipeline.run({.class_labels = {1000}, .steps = 2}),
               "class label 1000 is outside the model's 1000 classes (0..999)");
  EXPECT_ERROR(pipeline.run({.class_labels = {-1}, .steps = 2}), "class label -1 is outside");
  EXPECT_ERROR(pipeline.run({.class_labels = {}, .steps = 2}), "no class labels");
  EXPECT_ERROR(pipeline.run({.class_labels = {1}, .steps = 0}), "0 steps: a ddim scheduler takes 1 to 1000 steps");
  EXPECT_ERROR(pipeline.run({.class_labels = {1}, .guidance = NAN, .steps = 2}), "guidance nan is not a finite number");
  EXPECT_ERROR(pipeline.run({.class_labels = {1, 2}, .steps = 2, .init_noise = Tensor::zeros({1, 4, 8, 8}, DType::f32)}),
               "initial noise [1, 4, 8, 8] does not match the latents [2, 4, 8, 8] of 2 images");
  EXPECT_ERROR(DitPipeline::load(tiny_dit(), "plms"), "unknown scheduler 'plms'");
}

TEST(DitPipeline, NanInTheLatentsStopsWithTheStep) {
  const DitPipeline pipeline = DitPipeline::load(tiny_dit(), "ddim");
  Tensor noise = Tensor::zeros({1, 4, 8, 8}, DType::f32);
  noise.data<float>()[17] = NAN;
  EXPECT_ERROR(pipeline.run({.class_labels = {1}, .steps = 3, .init_noise = noise}),
               "NaN or infinite latent values after step 1 of 3 (timestep 666)");
}

TEST(DitPipeline, BadGpuRequestsFailBeforeTouchingTheDevice) {
  EXPECT_ERROR(DitPipeline::load(tiny_dit(), "ddim", {.device = Device::cuda, .dtype = DType::f32}),
               "--dtype f32: the GPU runs models in bf16 or f16");
  EXPECT_ERROR(DitPipeline::load(tiny_dit(), "ddim", {.device = Device::cuda, .max_images = 0}),
               "diffusion on the GPU: max images 0 must be positive");
  if (cuda_device_count() > 0) return;  // the GPU tests run it there
  EXPECT_ERROR(DitPipeline::load(tiny_dit(), "ddim", {.device = Device::cuda}),
               "--device cuda: " + cuda_unavailable_reason());
}

// A copy of the tiny DiT with one tensor replaced, for the loader's error paths.
class DitFiles : public ::testing::Test {
 protected:
  // Tensors named in `replaced` are written as given, or left out when undefined.
  void write_variant(const std::map<std::string, Tensor>& replaced) {
    std::filesystem::create_directories(dir_ / "transformer");
    std::filesystem::copy_file(tiny_dit() / "transformer" / "config.json", dir_ / "transformer" / "config.json",
                               std::filesystem::copy_options::overwrite_existing);
    const WeightStore store = WeightStore::open_dir(tiny_dit() / "transformer");
    std::vector<NamedTensor> tensors;
    for (const std::string& name : store.names()) {
      if (!replaced.contains(name)) tensors.push_back({name, store.get(name).to_f32()});
    }
    for (const auto& [name, tensor] : replaced) {
      if (tensor.defined()) tensors.push_back({name, tensor});
    }
    write_safetensors(dir_ / "transformer" / "diffusion_pytorch_model.safetensors", tensors);
  }
  test::TempDir dir_;
};

TEST_F(DitFiles, ConfigWeightMismatchNamesTheTensor) {
  write_variant({{"transformer_blocks.1.attn1.to_k.weight", Tensor::zeros({48, 40}, DType::f32)}});
  EXPECT_ERROR(load_dit(dir_.path()),
               "tensor 'transformer_blocks.1.attn1.to_k.weight' has shape [48, 40], but");
  write_variant({{"proj_out_2.bias", Tensor()}});
  EXPECT_ERROR(load_dit(dir_.path()), "missing tensor 'proj_out_2.bias'");
}

TEST_F(DitFiles, GuidanceNeedsTheNullClass) {
  // Class tables without the extra row: fine unguided, an error with guidance.
  std::map<std::string, Tensor> tables;
  for (int l = 0; l < 2; ++l) {
    tables["transformer_blocks." + std::to_string(l) + ".norm1.emb.class_embedder.embedding_table.weight"] =
        Tensor::zeros({1000, 48}, DType::f32);
  }
  write_variant(tables);
  const DitPipeline pipeline(load_dit(dir_.path()), scheduler_defaults("ddim"));
  EXPECT_FALSE(pipeline.model().has_null_class());
  EXPECT_EQ(pipeline.run({.class_labels = {3}, .guidance = 1.0, .steps = 2}).steps_done, 2);
  EXPECT_ERROR(pipeline.run({.class_labels = {3}, .guidance = 4.0, .steps = 2}),
               "guidance 4 needs a model with a null class for the unconditional half");
}

TEST(DitConfig, BadConfigsAreClearErrors) {
  const nlohmann::json base = read_json_file(tiny_dit() / "transformer" / "config.json");
  auto with = [&](const char* key, nlohmann::json value) {
    nlohmann::json j = base;
    j[key] = std::move(value);
    return j;
  };
  EXPECT_ERROR(dit_config_from_json(with("norm_type", "ada_norm_single"), "cfg"),
               "cfg: norm_type 'ada_norm_single' is not supported (ada_norm_zero)");
  EXPECT_ERROR(dit_config_from_json(with("patch_size", 3), "cfg"), "cfg: sample_size 8 is not a multiple of patch_size 3");
  EXPECT_ERROR(dit_config_from_json(with("out_channels", 5), "cfg"),
               "cfg: out_channels 5 must be in_channels 4 or twice it (learned sigma)");
  EXPECT_ERROR(dit_config_from_json(with("num_layers", 0), "cfg"), "cfg: num_layers = 0 must be positive");
  EXPECT_ERROR(dit_config_from_json(with("num_embeds_ada_norm", nullptr), "cfg"), "num_embeds_ada_norm is required");
  EXPECT_ERROR(dit_config_from_json(with("activation_fn", "geglu"), "cfg"), "activation_fn 'geglu' is not supported");
  EXPECT_ERROR(dit_config_from_json(with("_class_name", "UNet2DConditionModel"), "cfg"),
               "_class_name 'UNet2DConditionModel' is not a DiT");
  EXPECT_ERROR(dit_config_from_json(with("num_attention_heads", "two"), "cfg"), "cfg");
}

TEST(DitConfig, ParameterCountMatchesTheFile) {
  const DitModel model = load_dit(tiny_dit());
  const WeightStore store = WeightStore::open_dir(tiny_dit() / "transformer");
  int64_t stored = 0;
  for (const std::string& name : store.names()) stored += store.get(name).numel();
  EXPECT_EQ(model.config().parameter_count(), stored);
}

}  // namespace
}  // namespace genrt
