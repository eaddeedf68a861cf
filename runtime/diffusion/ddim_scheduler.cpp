// DDIM (Song et al., 2020), as diffusers' DDIMScheduler.

#include <cmath>

#include "runtime/diffusion/noise_schedule.h"
#include "runtime/diffusion/scheduler_impls.h"

namespace genrt {

namespace {

class DdimScheduler final : public NoiseScheduler {
 public:
  DdimScheduler(const NoiseSchedulerConfig& config, int64_t steps)
      : config_(config), alphas_cumprod_(train_alphas_cumprod(config)) {
    timesteps_ = spaced_timesteps(config, steps, /*rounding=*/true);
    // diffusers steps back by num_train_timesteps // steps whatever the spacing.
    stride_ = config.num_train_timesteps / steps;
  }

  NoiseLevel noise_level(int64_t i) const override {
    return vp_noise_level(alphas_cumprod_[static_cast<size_t>(timesteps_[i])]);
  }

  ref::StepCoefficients step(int64_t i) const override {
    const auto t = static_cast<int64_t>(timesteps_[i]);
    const int64_t prev_t = t - stride_;
    const double alpha = alphas_cumprod_[t];
    const double alpha_prev = prev_t >= 0 ? alphas_cumprod_[prev_t]
                              : config_.set_alpha_to_one ? 1.0
                                                         : alphas_cumprod_[0];
    const double variance = (1.0 - alpha_prev) / (1.0 - alpha) * (1.0 - alpha / alpha_prev);
    const double std_dev = config_.eta * std::sqrt(variance);
    const double direction = std::sqrt(1.0 - alpha_prev - std_dev * std_dev);
    const SampleOutputMix x0 = predicted_x0(config_.prediction_type, alpha);
    const SampleOutputMix eps = predicted_noise(config_.prediction_type, alpha);
    return {.x0_from_sample = static_cast<float>(x0.sample),
            .x0_from_output = static_cast<float>(x0.output),
            .x0_clip = config_.clip_sample ? static_cast<float>(config_.clip_sample_range) : 0.0f,
            .next_from_x0 = static_cast<float>(std::sqrt(alpha_prev)),
            .next_from_sample = static_cast<float>(direction * eps.sample),
            .next_from_output = static_cast<float>(direction * eps.output),
            .next_from_noise = static_cast<float>(std_dev)};
  }

 private:
  NoiseSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  int64_t stride_ = 1;
};

}  // namespace

std::unique_ptr<NoiseScheduler> make_ddim_scheduler(const NoiseSchedulerConfig& config, int64_t steps) {
  return std::make_unique<DdimScheduler>(config, steps);
}

}  // namespace genrt
