#pragma once
// Settings of genrt's noise schedulers, named and defaulted like diffusers' scheduler
// classes so that a pipeline's scheduler_config.json means the same thing here.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace genrt {

enum class SchedulerKind : uint8_t {
  ddpm,        // DDPMScheduler
  ddim,        // DDIMScheduler
  euler,       // EulerDiscreteScheduler
  euler_ancestral,  // EulerAncestralDiscreteScheduler
  dpm_solver,  // DPMSolverMultistepScheduler, algorithm dpmsolver++ (DPM++ 2M at order 2)
  flow_euler,  // FlowMatchEulerDiscreteScheduler
};

enum class BetaSchedule : uint8_t { linear, scaled_linear, squaredcos_cap_v2 };
enum class TimestepSpacing : uint8_t { leading, trailing, linspace };
enum class PredictionType : uint8_t { epsilon, v_prediction, sample };
enum class DdpmVariance : uint8_t { fixed_small, fixed_small_log, fixed_large };

struct NoiseSchedulerConfig {
  SchedulerKind kind = SchedulerKind::ddim;
  int64_t num_train_timesteps = 1000;
  double beta_start = 0.0001;
  double beta_end = 0.02;
  BetaSchedule beta_schedule = BetaSchedule::linear;
  std::vector<double> trained_betas;  // overrides the schedule when not empty
  TimestepSpacing timestep_spacing = TimestepSpacing::leading;
  int64_t steps_offset = 0;
  PredictionType prediction_type = PredictionType::epsilon;
  bool clip_sample = true;  // DDPM, DDIM: clamp the predicted x0
  double clip_sample_range = 1.0;
  bool set_alpha_to_one = true;  // DDIM: the final step's alpha_cumprod is 1
  double eta = 0.0;              // DDIM: 0 deterministic, 1 as noisy as DDPM
  DdpmVariance variance_type = DdpmVariance::fixed_small;
  bool use_karras_sigmas = false;  // Euler, DPM++
  bool final_sigma_zero = true;    // Euler, DPM++: final_sigmas_type zero (else sigma_min)
  int solver_order = 2;            // DPM++: 1 or 2
  bool solver_heun = false;        // DPM++: solver_type heun (else midpoint)
  bool lower_order_final = true;   // DPM++
  bool euler_at_final = false;     // DPM++
  double shift = 1.0;              // flow matching: timestep shift
};

// genrt's scheduler names, as --scheduler takes them: ddpm, ddim, euler, euler-a, dpm++2m,
// dpm++2m-karras, flow-euler.
std::vector<std::string> scheduler_names();
std::string_view scheduler_name(SchedulerKind kind);

// diffusers' defaults of the scheduler called `name` (a genrt name above).
NoiseSchedulerConfig scheduler_defaults(std::string_view name);

// A diffusers scheduler_config.json: its _class_name picks the scheduler unless `name`
// overrides it (then, like diffusers' from_config, the file's settings that the chosen
// scheduler shares still apply). Settings genrt does not implement are errors, not
// silently ignored.
NoiseSchedulerConfig scheduler_config_from_json(const nlohmann::json& config, const std::string& where,
                                           std::optional<std::string_view> name = std::nullopt);

}  // namespace genrt
