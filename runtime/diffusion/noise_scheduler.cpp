#include "runtime/diffusion/noise_scheduler.h"

#include <cmath>

#include "runtime/core/error.h"
#include "runtime/diffusion/scheduler_impls.h"

namespace genrt {

SampleOutputMix predicted_x0(PredictionType prediction, double alpha_prod) {
  const double a = std::sqrt(alpha_prod), b = std::sqrt(1.0 - alpha_prod);
  switch (prediction) {
    case PredictionType::epsilon: return {1.0 / a, -b / a};
    case PredictionType::v_prediction: return {a, -b};
    case PredictionType::sample: return {0.0, 1.0};
  }
  return {};
}

NoiseLevel vp_noise_level(double alpha_prod) {
  return {.signal = std::sqrt(alpha_prod), .noise = std::sqrt(1.0 - alpha_prod)};
}

SampleOutputMix predicted_noise(PredictionType prediction, double alpha_prod) {
  const double a = std::sqrt(alpha_prod), b = std::sqrt(1.0 - alpha_prod);
  switch (prediction) {
    case PredictionType::epsilon: return {0.0, 1.0};
    case PredictionType::v_prediction: return {b, a};
    case PredictionType::sample: return {1.0 / b, -a / b};
  }
  return {};
}

void NoiseScheduler::start_at(int64_t step) {
  GENRT_CHECK(step >= 0 && step < steps(), "a run of {} steps cannot start at step {}", steps(), step);
  first_step_ = step;
}

std::unique_ptr<NoiseScheduler> make_scheduler(const NoiseSchedulerConfig& config, int64_t steps) {
  GENRT_CHECK(steps >= 1 && steps <= config.num_train_timesteps,
              "{} steps: a {} scheduler takes 1 to {} steps", steps, scheduler_name(config.kind),
              config.num_train_timesteps);
  switch (config.kind) {
    case SchedulerKind::ddpm: return make_ddpm_scheduler(config, steps);
    case SchedulerKind::ddim: return make_ddim_scheduler(config, steps);
    case SchedulerKind::euler:
    case SchedulerKind::euler_ancestral: return make_euler_scheduler(config, steps);
    case SchedulerKind::dpm_solver: return make_dpm_solver_scheduler(config, steps);
    case SchedulerKind::flow_euler: return make_flow_euler_scheduler(config, steps);
  }
  fail("unknown scheduler kind");
}

}  // namespace genrt
