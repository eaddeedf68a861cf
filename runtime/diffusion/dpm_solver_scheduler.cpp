// DPM-Solver++ multistep (Lu et al., 2022) of order 1 or 2 -- "DPM++ 2M" -- as diffusers'
// DPMSolverMultistepScheduler with algorithm_type dpmsolver++.

#include <cmath>

#include "runtime/diffusion/noise_schedule.h"
#include "runtime/diffusion/scheduler_impls.h"

namespace genrt {

namespace {

class DpmSolverScheduler final : public NoiseScheduler {
 public:
  DpmSolverScheduler(const NoiseSchedulerConfig& config, int64_t steps) : config_(config) {
    const std::vector<float> table = train_sigmas(train_alphas_cumprod(config));
    const auto n = static_cast<double>(config.num_train_timesteps);
    // steps + 1 points, the last (timestep 0) dropped.
    switch (config.timestep_spacing) {
      case TimestepSpacing::linspace:
        for (double t : np_linspace(0.0, n - 1.0, steps + 1)) timesteps_.insert(timesteps_.begin(), np_round(t));
        timesteps_.pop_back();
        break;
      case TimestepSpacing::leading: {
        const int64_t ratio = config.num_train_timesteps / (steps + 1);
        for (int64_t i = steps; i >= 1; --i) {
          timesteps_.push_back(static_cast<double>(i * ratio + config.steps_offset));
        }
        break;
      }
      case TimestepSpacing::trailing:
        for (double t : np_arange(n, 0.0, -n / static_cast<double>(steps))) timesteps_.push_back(np_round(t) - 1.0);
        break;
    }
    std::vector<double> sigmas;
    if (config.use_karras_sigmas) {
      sigmas = karras_sigmas(table.front(), table.back(), steps);
      for (size_t i = 0; i < sigmas.size(); ++i) {
        const double t = sigma_to_timestep(sigmas[i], table);
        timesteps_[i] = config.beta_schedule == BetaSchedule::squaredcos_cap_v2 ? std::floor(t) : np_round(t);
      }
    } else {
      for (double t : timesteps_) sigmas.push_back(interp_at(table, t));
    }
    sigmas.push_back(config.final_sigma_zero ? 0.0 : table.front());
    for (double s : sigmas) sigmas_.push_back(static_cast<float>(s));
  }

  bool uses_x0_history() const override { return config_.solver_order == 2; }

  NoiseLevel noise_level(int64_t i) const override {
    const Point p = point(i);
    return {.signal = p.alpha, .noise = p.sigma};
  }

  ref::StepCoefficients step(int64_t i) const override {
    const Point s0 = point(i), t = point(i + 1);
    // x0 from the model output at the current noise level (alpha_t x0 + sigma_t eps = x).
    const SampleOutputMix x0 = predicted_x0(config_.prediction_type, s0.alpha * s0.alpha);
    ref::StepCoefficients c{.x0_from_sample = static_cast<float>(x0.sample),
                            .x0_from_output = static_cast<float>(x0.output)};
    const double h = t.lambda - s0.lambda;
    // At a final sigma of 0, lambda_t is +inf: exp(-h) = 0 and x_t = x0 exactly.
    const double decay = std::exp(-h) - 1.0;  // e^-h - 1
    const double sample_coeff = t.sigma / s0.sigma;
    const bool last = i + 1 == steps();
    const bool lower_order_final =
        last && (config_.euler_at_final || (config_.lower_order_final && steps() < 15) ||
                 config_.final_sigma_zero);
    if (config_.solver_order == 1 || i == first_step() || lower_order_final) {
      // x_t = (sigma_t / sigma_s) x - alpha_t (e^-h - 1) x0
      c.next_from_sample = static_cast<float>(sample_coeff);
      c.next_from_x0 = static_cast<float>(-t.alpha * decay);
      return c;
    }
    // Second order from this x0 (m0) and the previous one (m1), D1 = (m0 - m1) / r0.
    const Point s1 = point(i - 1);
    const double r0 = (s0.lambda - s1.lambda) / h;
    const double d1_coeff = config_.solver_heun ? t.alpha * (decay / h + 1.0) : -0.5 * t.alpha * decay;
    c.next_from_sample = static_cast<float>(sample_coeff);
    c.next_from_x0 = static_cast<float>(-t.alpha * decay + d1_coeff / r0);
    c.next_from_prev_x0 = static_cast<float>(-d1_coeff / r0);
    return c;
  }

 private:
  // alpha_t, sigma_t and lambda_t = log(alpha_t / sigma_t) at step i's noise level.
  struct Point {
    double alpha, sigma, lambda;
  };
  Point point(int64_t i) const {
    const double s = sigmas_[i];
    const double alpha = 1.0 / std::sqrt(s * s + 1.0), sigma = s * alpha;
    return {alpha, sigma, std::log(alpha) - std::log(sigma)};
  }

  NoiseSchedulerConfig config_;
  std::vector<float> sigmas_;  // one per step, then the final sigma
};

}  // namespace

std::unique_ptr<NoiseScheduler> make_dpm_solver_scheduler(const NoiseSchedulerConfig& config, int64_t steps) {
  return std::make_unique<DpmSolverScheduler>(config, steps);
}

}  // namespace genrt
