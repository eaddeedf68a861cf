// Euler steps of a flow-matching model (rectified flow: x_t = (1 - t) x0 + t noise, the model
// predicts the velocity noise - x0), as diffusers' FlowMatchEulerDiscreteScheduler.

#include "runtime/diffusion/noise_schedule.h"
#include "runtime/diffusion/scheduler_impls.h"

namespace genrt {

namespace {

class FlowEulerScheduler final : public NoiseScheduler {
 public:
  FlowEulerScheduler(const NoiseSchedulerConfig& config, int64_t steps) {
    const auto n = static_cast<double>(config.num_train_timesteps);
    const double shift = config.shift;
    auto shifted = [shift](double s) {
      return static_cast<float>(shift * s / (1.0 + (shift - 1.0) * s));
    };
    // diffusers shifts the training sigmas at construction, takes the range of those, and
    // shifts again after spacing the inference steps: both shifts are reproduced here.
    const double sigma_max = shifted(1.0), sigma_min = shifted(1.0 / n);
    for (double t : np_linspace(sigma_max * n, sigma_min * n, steps)) {
      const float sigma = shifted(t / n);
      sigmas_.push_back(sigma);
      timesteps_.push_back(static_cast<float>(sigma * static_cast<float>(n)));
    }
    sigmas_.push_back(0.0f);
  }

  // x_t = (1 - sigma) x0 + sigma noise (diffusers' scale_noise).
  NoiseLevel noise_level(int64_t i) const override { return {.signal = 1.0 - sigmas_[i], .noise = sigmas_[i]}; }

  ref::StepCoefficients step(int64_t i) const override {
    // next = x + (sigma_next - sigma) * velocity
    return {.next_from_sample = 1.0f,
            .next_from_output = static_cast<float>(static_cast<double>(sigmas_[i + 1]) - sigmas_[i])};
  }

 private:
  std::vector<float> sigmas_;  // one per step, then 0
};

}  // namespace

std::unique_ptr<NoiseScheduler> make_flow_euler_scheduler(const NoiseSchedulerConfig& config, int64_t steps) {
  return std::make_unique<FlowEulerScheduler>(config, steps);
}

}  // namespace genrt
