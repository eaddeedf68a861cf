#pragma once
// The schedulers behind make_scheduler, one per file, and what they share.

#include <memory>

#include "runtime/diffusion/noise_scheduler.h"

namespace genrt {

std::unique_ptr<NoiseScheduler> make_ddpm_scheduler(const NoiseSchedulerConfig& config, int64_t steps);
std::unique_ptr<NoiseScheduler> make_ddim_scheduler(const NoiseSchedulerConfig& config, int64_t steps);
std::unique_ptr<NoiseScheduler> make_euler_scheduler(const NoiseSchedulerConfig& config, int64_t steps);
std::unique_ptr<NoiseScheduler> make_dpm_solver_scheduler(const NoiseSchedulerConfig& config, int64_t steps);
std::unique_ptr<NoiseScheduler> make_flow_euler_scheduler(const NoiseSchedulerConfig& config, int64_t steps);

// A quantity that is linear in the sample x and the model output: sample * x + output * out.
struct SampleOutputMix {
  double sample = 0.0;
  double output = 0.0;
};

// The predicted clean sample x0 and noise eps for a model trained with `prediction` at a
// timestep whose alphas_cumprod is alpha_prod (x = sqrt(alpha_prod) x0 + sqrt(1 - alpha_prod) eps).
SampleOutputMix predicted_x0(PredictionType prediction, double alpha_prod);
// That sample's noise level: sqrt(alpha_prod) x0 + sqrt(1 - alpha_prod) eps.
NoiseLevel vp_noise_level(double alpha_prod);
SampleOutputMix predicted_noise(PredictionType prediction, double alpha_prod);

}  // namespace genrt
