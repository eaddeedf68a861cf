#include "kernels/ref/scheduler_step.h"

namespace genrt::ref {

void scheduler_step(const SchedulerStepArgs& a) {
  for (int64_t i = 0; i < a.n; ++i) {
    a.sample[i] = scheduler_step_value(a.c, a.sample[i], a.model_output[i], a.x0 != nullptr ? a.x0 + i : nullptr,
                                       a.noise != nullptr ? a.noise[i] : 0.0f);
  }
}

}  // namespace genrt::ref
