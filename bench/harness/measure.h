#pragma once
// How genrt bench times one case: warm-up runs, then timed runs until the median settles
// (or a count or time limit), reported as median and p10/p90. The clock is abstract so
// that the same loop serves CUDA events and the host's steady clock.

#include <cstdint>
#include <functional>
#include <vector>

namespace genrt::bench {

struct MeasureOptions {
  int warmup = 3;
  int min_reps = 10;
  int max_reps = 500;
  double max_seconds = 2.0;  // wall time of a case, warm-ups and timed runs together
  // Stop once the median over all runs moved less than this (relative) over the last
  // kCheckEvery runs.
  double stable = 0.01;
};

struct Timing {
  double median_ms = 0.0;
  double p10_ms = 0.0;
  double p90_ms = 0.0;
  int64_t reps = 0;
};

// Seconds on the host's monotonic clock (the wall clock of the time limit, and the CPU's
// per-run timer).
double steady_seconds();

// Median and nearest-rank p10/p90 of the samples (at least one).
Timing summarize(std::vector<double> samples_ms);

// Runs `timed_run` (which returns one run's milliseconds) warm-up times, then until the
// stopping rule; `wall_seconds` reads a monotonic clock for the time limit.
Timing measure(const std::function<double()>& timed_run, const std::function<double()>& wall_seconds,
               const MeasureOptions& options);

}  // namespace genrt::bench
