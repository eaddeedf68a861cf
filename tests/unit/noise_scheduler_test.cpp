// genrt's noise schedulers against diffusers (tools/golden/dit.py writes
// scheduler_golden.json): the same timesteps, noise scale and input scaling, and the same
// sample after every step for a fixed sequence of model outputs and noise.

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/backend/diffusion_ops.h"
#include "runtime/core/max_rel_diff.h"
#include "runtime/diffusion/noise_scheduler.h"
#include "runtime/io/json_file.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

Tensor tensor_of(const std::vector<float>& values) {
  Tensor t = Tensor::zeros({static_cast<int64_t>(values.size())}, DType::f32);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

// Relative differences (max_rel_diff): fp32 on both sides, but diffusers evaluates each formula
// in a different order (and DDIM divides by sqrt(alpha_cumprod) ~ 0.006 at t = 999), so
// samples of size ~100 differ by a few ulp of their size. Measured worst: 9e-6 (Euler,
// leading spacing), so 2e-5 leaves 2x headroom.
constexpr double kStepTolerance = 2e-5;

// One case of a scheduler golden file: its timesteps, scales and the sample after every step.
void expect_matches_diffusers(const nlohmann::json& g) {
  SCOPED_TRACE(g.at("name").get<std::string>());
  nlohmann::json config = g.at("config");
  NoiseSchedulerConfig sc = scheduler_config_from_json(config, "golden", g.at("scheduler").get<std::string>());
  sc.eta = g.at("eta").get<double>();
  const auto steps = g.at("steps").get<int64_t>();
  const auto scheduler = make_scheduler(sc, steps);

  const auto timesteps = g.at("timesteps").get<std::vector<double>>();
  ASSERT_EQ(scheduler->steps(), steps);
  for (int64_t i = 0; i < steps; ++i) {
    EXPECT_NEAR(scheduler->timesteps()[i], timesteps[i], 1e-4 * (1 + timesteps[i])) << "step " << i;
  }
  const auto init_sigma = g.at("init_noise_sigma").get<double>();  // up to 157: fp32 ulps
  EXPECT_NEAR(scheduler->init_noise_sigma(), init_sigma, 1e-6 * (1 + init_sigma));

  Tensor sample = tensor_of(g.at("initial").get<std::vector<float>>());
  Tensor x0_history = Tensor::zeros(sample.shape(), DType::f32);
  double worst = 0.0;
  for (int64_t i = 0; i < steps; ++i) {
    EXPECT_NEAR(scheduler->input_scale(i), g.at("input_scales")[i].get<double>(), 1e-6) << "step " << i;
    const Tensor output = tensor_of(g.at("model_outputs")[i].get<std::vector<float>>());
    const Tensor noise = tensor_of(g.at("noises")[i].get<std::vector<float>>());
    ops::scheduler_step(scheduler->step(i), output, sample, x0_history, noise);
    const auto want = g.at("samples")[i].get<std::vector<float>>();
    const double err = max_rel_diff(sample.data<float>(), want.data(), want.size());
    ASSERT_LE(err, kStepTolerance) << "after step " << i << " of " << steps;
    worst = std::max(worst, err);
  }
  ::testing::Test::RecordProperty("max_rel_diff", std::to_string(worst));
}

class SchedulerGolden : public ::testing::TestWithParam<size_t> {
 protected:
  static const nlohmann::json& cases() {
    static const nlohmann::json golden = read_json_file(test::data_dir() / "scheduler_golden.json");
    return golden.at("cases");
  }
};

TEST_P(SchedulerGolden, MatchesDiffusersStepByStep) { expect_matches_diffusers(cases().at(GetParam())); }

// Euler ancestral with SD 1.5's settings, from tools/golden/sd.py (its noise given per step).
TEST(SchedulerGoldenSd, EulerAncestralMatchesDiffusersStepByStep) {
  const nlohmann::json golden = read_json_file(test::data_dir() / "tiny_sd" / "golden.json");
  expect_matches_diffusers(golden.at("euler_ancestral"));
}

INSTANTIATE_TEST_SUITE_P(Diffusers, SchedulerGolden, ::testing::Range<size_t>(0, 13),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           static const nlohmann::json golden =
                               read_json_file(test::data_dir() / "scheduler_golden.json");
                           return golden.at("cases").at(info.param).at("name").get<std::string>();
                         });

TEST(SchedulerGoldenFile, HasEveryCaseTheSuiteRuns) {
  const nlohmann::json golden = read_json_file(test::data_dir() / "scheduler_golden.json");
  EXPECT_EQ(golden.at("cases").size(), 13u);
}

TEST(NoiseSchedulerConfig, NamesAndClassesPickTheScheduler) {
  EXPECT_EQ(scheduler_defaults("euler").kind, SchedulerKind::euler);
  EXPECT_TRUE(scheduler_defaults("dpm++2m-karras").use_karras_sigmas);
  EXPECT_FALSE(scheduler_defaults("dpm++2m").use_karras_sigmas);
  const nlohmann::json ddim = {{"_class_name", "DDIMScheduler"}, {"clip_sample", false},
                               {"timestep_spacing", "trailing"}};
  const NoiseSchedulerConfig from_file = scheduler_config_from_json(ddim, "cfg");
  EXPECT_EQ(from_file.kind, SchedulerKind::ddim);
  EXPECT_FALSE(from_file.clip_sample);
  // Another scheduler keeps the file's shared settings, like diffusers' from_config.
  const NoiseSchedulerConfig euler = scheduler_config_from_json(ddim, "cfg", "euler");
  EXPECT_EQ(euler.kind, SchedulerKind::euler);
  EXPECT_EQ(euler.timestep_spacing, TimestepSpacing::trailing);
}

TEST(NoiseSchedulerConfig, BadSettingsAreClearErrors) {
  EXPECT_ERROR(scheduler_defaults("lms"), "unknown scheduler 'lms' (one of ddpm, ddim, euler");
  EXPECT_ERROR(scheduler_config_from_json({{"_class_name", "PNDMScheduler"}}, "cfg"),
               "cfg: scheduler class 'PNDMScheduler' is not supported; pick one with --scheduler");
  EXPECT_ERROR(scheduler_config_from_json({{"beta_schedule", "sigmoid"}}, "cfg", "ddim"),
               "cfg: beta_schedule 'sigmoid' is not supported (linear, scaled_linear, squaredcos_cap_v2)");
  EXPECT_ERROR(scheduler_config_from_json({{"thresholding", true}}, "cfg", "ddpm"),
               "cfg: thresholding = true is not supported");
  EXPECT_ERROR(scheduler_config_from_json({{"variance_type", "learned_range"}}, "cfg", "ddpm"),
               "cfg: variance_type 'learned_range' is not supported");
  EXPECT_ERROR(scheduler_config_from_json({{"algorithm_type", "sde-dpmsolver++"}}, "cfg", "dpm++2m"),
               "cfg: algorithm_type = \"sde-dpmsolver++\" is not supported");
  EXPECT_ERROR(scheduler_config_from_json({{"solver_order", 3}}, "cfg", "dpm++2m"),
               "cfg: solver_order 3 is not supported (1 or 2)");
  EXPECT_ERROR(scheduler_config_from_json({{"beta_end", "big"}}, "cfg", "ddim"), "cfg");
  EXPECT_ERROR(make_scheduler(scheduler_defaults("ddim"), 0), "0 steps: a ddim scheduler takes 1 to 1000 steps");
  EXPECT_ERROR(make_scheduler(scheduler_defaults("euler"), 1001), "1001 steps");
}

// Image to image starts a run at a step's noise level. Each scheduler's level, checked
// against the others': the VP schedulers keep signal^2 + noise^2 = 1; Euler's sample is
// x0 + sigma eps, so at the same (integer, leading-spaced) timestep its noise / signal is
// DDIM's and DDPM's; flow matching mixes (1 - sigma) x0 + sigma eps; noise falls step by step.
TEST(NoiseScheduler, NoiseLevelsOfEverySchedulerAgree) {
  constexpr int64_t kSteps = 10;
  NoiseSchedulerConfig base = scheduler_defaults("ddim");
  base.beta_schedule = BetaSchedule::scaled_linear;
  base.beta_start = 0.00085, base.beta_end = 0.012, base.steps_offset = 1;
  auto made = [&](const char* name) {
    NoiseSchedulerConfig c = base;
    c.kind = scheduler_defaults(name).kind;
    return make_scheduler(c, kSteps);
  };
  const auto ddim = made("ddim"), ddpm = made("ddpm"), euler = made("euler"), dpm = made("dpm++2m");
  const auto flow = make_scheduler(scheduler_defaults("flow-euler"), kSteps);
  for (int64_t i = 0; i < kSteps; ++i) {
    SCOPED_TRACE(testing::Message() << "step " << i);
    for (const NoiseScheduler* vp : {ddim.get(), ddpm.get(), dpm.get()}) {
      const NoiseLevel l = vp->noise_level(i);
      EXPECT_NEAR(l.signal * l.signal + l.noise * l.noise, 1.0, 1e-6);
    }
    ASSERT_EQ(euler->timesteps()[i], ddim->timesteps()[i]);
    const NoiseLevel e = euler->noise_level(i), d = ddim->noise_level(i), p = ddpm->noise_level(i);
    EXPECT_EQ(e.signal, 1.0);
    EXPECT_NEAR(e.noise, d.noise / d.signal, 1e-4 * e.noise);
    EXPECT_NEAR(p.noise / p.signal, d.noise / d.signal, 1e-9);
    const NoiseLevel f = flow->noise_level(i);
    EXPECT_NEAR(f.signal + f.noise, 1.0, 1e-6);
    if (i > 0) {
      EXPECT_LT(d.noise, ddim->noise_level(i - 1).noise);
      EXPECT_LT(f.noise, flow->noise_level(i - 1).noise);
    }
  }
}

TEST(NoiseScheduler, ARunStartsAtOneOfItsSteps) {
  const auto scheduler = make_scheduler(scheduler_defaults("dpm++2m"), 4);
  EXPECT_EQ(scheduler->first_step(), 0);
  scheduler->start_at(3);
  EXPECT_EQ(scheduler->first_step(), 3);
  EXPECT_ERROR(scheduler->start_at(4), "a run of 4 steps cannot start at step 4");
  EXPECT_ERROR(scheduler->start_at(-1), "cannot start at step -1");
}

}  // namespace
}  // namespace genrt
