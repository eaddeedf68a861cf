#include "bench/harness/measure.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "runtime/core/error.h"

namespace genrt::bench {

namespace {

constexpr int kCheckEvery = 5;

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Nearest rank: the smallest sample with at least q of the samples at or below it.
double percentile(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Timing summarize(std::vector<double> samples) {
  GENRT_CHECK(!samples.empty(), "bench: no timed runs to summarize");
  std::sort(samples.begin(), samples.end());
  return {.median_ms = median_of(samples),
          .p10_ms = percentile(samples, 0.1),
          .p90_ms = percentile(samples, 0.9),
          .reps = static_cast<int64_t>(samples.size())};
}

Timing measure(const std::function<double()>& timed_run, const std::function<double()>& wall_seconds,
               const MeasureOptions& o) {
  GENRT_CHECK(o.min_reps >= 1 && o.max_reps >= o.min_reps, "bench: repetitions {}..{} are not a range", o.min_reps,
              o.max_reps);
  // max_seconds bounds the whole case, warm-ups included: one warm-up and one timed run
  // always happen; min_reps and the rest of the warm-ups give way to the limit.
  const double start = wall_seconds();
  auto out_of_time = [&] { return wall_seconds() - start > o.max_seconds; };
  for (int i = 0; i < o.warmup && (i == 0 || !out_of_time()); ++i) timed_run();
  std::vector<double> samples;
  double previous_median = -1.0;
  while (static_cast<int>(samples.size()) < o.max_reps) {
    samples.push_back(timed_run());
    if (out_of_time()) break;
    const auto n = static_cast<int>(samples.size());
    if (n < o.min_reps || n % kCheckEvery != 0) continue;
    const double median = median_of(samples);
    if (previous_median > 0.0 && std::abs(median - previous_median) <= o.stable * median) break;
    previous_median = median;
  }
  return summarize(std::move(samples));
}

}  // namespace genrt::bench
