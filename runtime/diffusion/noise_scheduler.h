#pragma once
// A noise scheduler walks a denoising loop along its noise schedule: which timestep the
// model sees at each step, how its input is scaled, and how the sample moves given the
// model's output. Steps are pure functions of the step index and of the step a run starts
// at (multistep state lives in the x0 history buffer the loop keeps), so a loop can be
// replayed or run on any device.

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/ref/scheduler_step.h"
#include "runtime/diffusion/noise_scheduler_config.h"

namespace genrt {

// A sample at some noise level: x = signal * x0 + noise * eps for a clean sample x0 and
// standard normal eps.
struct NoiseLevel {
  double signal = 1.0;
  double noise = 0.0;
};

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
  // The noise level of the sample step i takes in (diffusers' add_noise at timesteps[i]).
  virtual NoiseLevel noise_level(int64_t step) const = 0;

  // Image-to-image runs only the steps from first_step() (diffusers' set_begin_index),
  // starting from a clean sample noised to that step's level; multistep solvers take a
  // run's first step at first order. 0 unless start_at() says otherwise.
  int64_t first_step() const { return first_step_; }
  void start_at(int64_t step);

 protected:
  std::vector<double> timesteps_;
  double init_noise_sigma_ = 1.0;

 private:
  int64_t first_step_ = 0;
};

// A scheduler set up for `steps` inference steps; errors name an impossible step count.
std::unique_ptr<NoiseScheduler> make_scheduler(const NoiseSchedulerConfig& config, int64_t steps);

}  // namespace genrt
