#pragma once
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

// One denoising step of any of genrt's noise schedulers. DDPM, DDIM, Euler, DPM-Solver++
// and flow-matching Euler all move the sample x by a linear combination of x, the model
// output, the predicted clean sample x0 (possibly clipped), the previous step's x0 and
// fresh noise; the scheduler computes the coefficients on the host, once per step:
//
//   x0   = clamp(x0_from_sample * x + x0_from_output * output, -x0_clip, x0_clip)
//   next = next_from_x0 * x0 + next_from_sample * x + next_from_output * output
//        + next_from_prev_x0 * prev_x0 + next_from_noise * noise
struct StepCoefficients {
  float x0_from_sample = 0.0f;
  float x0_from_output = 0.0f;
  float x0_clip = 0.0f;  // 0: no clipping
  float next_from_x0 = 0.0f;
  float next_from_sample = 0.0f;
  float next_from_output = 0.0f;
  float next_from_prev_x0 = 0.0f;  // multistep solvers
  float next_from_noise = 0.0f;    // stochastic steps
};

// The step for one value: returns the next sample; with prev_x0 (the previous step's x0,
// may be null) it also stores this step's x0 there.
GENRT_HOST_DEVICE inline float scheduler_step_value(const StepCoefficients& c, float x, float out, float* prev_x0,
                                                    float noise) {
  float x0 = c.x0_from_sample * x + c.x0_from_output * out;
  // Comparisons rather than fminf/fmaxf, which would turn a NaN into the bound and hide
  // a diverging run from the NaN check.
  if (c.x0_clip > 0.0f) x0 = x0 < -c.x0_clip ? -c.x0_clip : (x0 > c.x0_clip ? c.x0_clip : x0);
  float next = c.next_from_x0 * x0 + c.next_from_sample * x + c.next_from_output * out + c.next_from_noise * noise;
  if (prev_x0 != nullptr) {
    next += c.next_from_prev_x0 * *prev_x0;
    *prev_x0 = x0;
  }
  return next;
}

struct SchedulerStepArgs {
  StepCoefficients c;
  const float* model_output = nullptr;  // [n]
  float* sample = nullptr;              // [n]: x in, next out
  float* x0 = nullptr;  // [n] or nullptr: the previous step's x0 in, this step's x0 out
  const float* noise = nullptr;  // [n], or nullptr when next_from_noise is 0
  int64_t n = 0;
};

void scheduler_step(const SchedulerStepArgs& args);

}  // namespace genrt::ref
