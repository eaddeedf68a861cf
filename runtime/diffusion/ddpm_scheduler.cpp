// DDPM ancestral sampling (Ho et al., 2020), as diffusers' DDPMScheduler.

#include <algorithm>
#include <cmath>

#include "runtime/diffusion/noise_schedule.h"
#include "runtime/diffusion/scheduler_impls.h"

namespace genrt {

namespace {

class DdpmScheduler final : public NoiseScheduler {
 public:
  DdpmScheduler(const NoiseSchedulerConfig& config, int64_t steps)
      : config_(config), alphas_cumprod_(train_alphas_cumprod(config)) {
    timesteps_ = spaced_timesteps(config, steps, /*rounding=*/true);
  }

  NoiseLevel noise_level(int64_t i) const override {
    return vp_noise_level(alphas_cumprod_[static_cast<size_t>(timesteps_[i])]);
  }

  ref::StepCoefficients step(int64_t i) const override {
    const auto t = static_cast<int64_t>(timesteps_[i]);
    const bool last = i + 1 == steps();
    const double alpha = alphas_cumprod_[t];
    const double alpha_prev = last ? 1.0 : alphas_cumprod_[static_cast<int64_t>(timesteps_[i + 1])];
    const double beta = 1.0 - alpha, beta_prev = 1.0 - alpha_prev;
    const double step_alpha = alpha / alpha_prev, step_beta = 1.0 - step_alpha;
    // Posterior q(x_prev | x_t, x0): mean from x0 and x_t, and its variance.
    const double variance = std::max(beta_prev / beta * step_beta, 1e-20);
    double noise_std = 0.0;
    if (t > 0) {  // diffusers adds noise whenever the timestep value is not 0
      noise_std = config_.variance_type == DdpmVariance::fixed_large ? std::sqrt(step_beta)
                                                                     : std::sqrt(variance);
    }
    const SampleOutputMix x0 = predicted_x0(config_.prediction_type, alpha);
    return {.x0_from_sample = static_cast<float>(x0.sample),
            .x0_from_output = static_cast<float>(x0.output),
            .x0_clip = config_.clip_sample ? static_cast<float>(config_.clip_sample_range) : 0.0f,
            .next_from_x0 = static_cast<float>(std::sqrt(alpha_prev) * step_beta / beta),
            .next_from_sample = static_cast<float>(std::sqrt(step_alpha) * beta_prev / beta),
            .next_from_noise = static_cast<float>(noise_std)};
  }

 private:
  NoiseSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
};

}  // namespace

std::unique_ptr<NoiseScheduler> make_ddpm_scheduler(const NoiseSchedulerConfig& config, int64_t steps) {
  return std::make_unique<DdpmScheduler>(config, steps);
}

}  // namespace genrt
