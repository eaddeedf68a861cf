#include "kernels/ref/scheduler_step.h"

#include <algorithm>

namespace genrt::ref {

void scheduler_step(const SchedulerStepArgs& a) {
  const StepCoefficients& c = a.c;
  for (int64_t i = 0; i < a.n; ++i) {
    const float x = a.sample[i], out = a.model_output[i];
    float x0 = c.x0_from_sample * x + c.x0_from_output * out;
    if (c.x0_clip > 0.0f) x0 = std::clamp(x0, -c.x0_clip, c.x0_clip);
    float next = c.next_from_x0 * x0 + c.next_from_sample * x + c.next_from_output * out;
    if (a.x0 != nullptr) {
      next += c.next_from_prev_x0 * a.x0[i];
      a.x0[i] = x0;
    }
    if (a.noise != nullptr) next += c.next_from_noise * a.noise[i];
    a.sample[i] = next;
  }
}

}  // namespace genrt::ref
