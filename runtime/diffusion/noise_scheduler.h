#pragma once
// A noise scheduler walks a denoising loop along its noise schedule: which timestep the
// model sees at each step, how its input is scaled, and how the sample moves given the
// model's output. Steps are pure functions of the step index (multistep state lives in the
// x0 history buffer the loop keeps), so a loop can be replayed or run on any device.

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/ref/scheduler_step.h"
#include "runtime/diffusion/noise_scheduler_config.h"

namespace genrt {

class NoiseScheduler {
 public:
  virtual ~NoiseScheduler() = default;

  int64_t steps() const { return static_cast<int64_t>(timesteps_.size()); }
  // The model's timestep input at each step, in order (descending).
  const std::vector<double>& timesteps() const { return timesteps_; }
  // The initial sample is standard normal noise times this.
  double init_noise_sigma() const { return init_noise_sigma_; }
  // The model's input at step i is the sample times this.
  virtual double input_scale(int64_t /*step*/) const { return 1.0; }
  // The update of step i (see ref::StepCoefficients).
  virtual ref::StepCoefficients step(int64_t step) const = 0;
  // Whether step() reads the previous step's x0 (multistep solvers).
  virtual bool uses_x0_history() const { return false; }

 protected:
  std::vector<double> timesteps_;
  double init_noise_sigma_ = 1.0;
};

// A scheduler set up for `steps` inference steps; errors name an impossible step count.
std::unique_ptr<NoiseScheduler> make_scheduler(const NoiseSchedulerConfig& config, int64_t steps);

}  // namespace genrt
