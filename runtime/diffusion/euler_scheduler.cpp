// Euler's method on the probability-flow ODE in sigma (Karras et al., 2022), as diffusers'
// EulerDiscreteScheduler without churn; and its ancestral variant (EulerAncestralDiscrete-
// Scheduler), which steps down to a lower sigma and adds fresh noise back up to the next.

#include <algorithm>
#include <cmath>

#include "runtime/diffusion/noise_schedule.h"
#include "runtime/diffusion/scheduler_impls.h"

namespace genrt {

namespace {

class EulerScheduler final : public NoiseScheduler {
 public:
  EulerScheduler(const NoiseSchedulerConfig& config, int64_t steps) : config_(config) {
    const std::vector<float> alphas_cumprod = train_alphas_cumprod(config);
    const std::vector<float> table = train_sigmas(alphas_cumprod);
    // Timesteps stay fractional in linspace spacing: Euler interpolates sigma between them.
    timesteps_ = spaced_timesteps(config, steps, /*rounding=*/false);
    for (double& t : timesteps_) t = static_cast<float>(t);  // numpy computes them in fp32
    std::vector<double> sigmas;
    for (double t : timesteps_) sigmas.push_back(interp_at(table, t));
    if (config.use_karras_sigmas) {
      sigmas = karras_sigmas(sigmas.back(), sigmas.front(), steps);
      for (size_t i = 0; i < sigmas.size(); ++i) timesteps_[i] = sigma_to_timestep(sigmas[i], table);
    }
    sigmas.push_back(config.final_sigma_zero ? 0.0 : table.front());
    for (double s : sigmas) sigmas_.push_back(static_cast<float>(s));
    for (double& t : timesteps_) t = static_cast<float>(t);  // diffusers keeps fp32 timesteps
    const double max_sigma = *std::max_element(sigmas_.begin(), sigmas_.end());
    init_noise_sigma_ = config.timestep_spacing == TimestepSpacing::leading
                            ? std::sqrt(max_sigma * max_sigma + 1.0)
                            : max_sigma;
  }

  double input_scale(int64_t i) const override {
    const double sigma = sigmas_[i];
    return 1.0 / std::sqrt(sigma * sigma + 1.0);
  }

  // Euler's sample is the clean sample plus sigma noise (x_t / sqrt(alpha_cumprod)).
  NoiseLevel noise_level(int64_t i) const override { return {.signal = 1.0, .noise = sigmas_[i]}; }

  ref::StepCoefficients step(int64_t i) const override {
    const double sigma = sigmas_[i], next = sigmas_[i + 1];
    // Ancestral: down to sigma_down, then noise of sigma_up, with sigma_down^2 + sigma_up^2 = next^2.
    const bool ancestral = config_.kind == SchedulerKind::euler_ancestral;
    const double sigma_up =
        ancestral ? std::sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma)) : 0.0;
    const double dt = std::sqrt(next * next - sigma_up * sigma_up) - sigma;
    // Euler's sample is x = x_t / sqrt(alpha_cumprod) with sigma^2 = (1 - alpha_cumprod) /
    // alpha_cumprod, so x0 is the usual prediction with its sample term scaled back.
    const double alpha_prod = 1.0 / (sigma * sigma + 1.0);
    SampleOutputMix x0 = predicted_x0(config_.prediction_type, alpha_prod);
    x0.sample *= std::sqrt(alpha_prod);
    // next = x + (x - x0) / sigma * dt (+ noise * sigma_up)
    return {.x0_from_sample = static_cast<float>(x0.sample),
            .x0_from_output = static_cast<float>(x0.output),
            .next_from_x0 = static_cast<float>(-dt / sigma),
            .next_from_sample = static_cast<float>(1.0 + dt / sigma),
            .next_from_noise = static_cast<float>(sigma_up)};
  }

 private:
  NoiseSchedulerConfig config_;
  std::vector<float> sigmas_;  // one per step, then the final sigma
};

}  // namespace

std::unique_ptr<NoiseScheduler> make_euler_scheduler(const NoiseSchedulerConfig& config, int64_t steps) {
  return std::make_unique<EulerScheduler>(config, steps);
}

}  // namespace genrt
