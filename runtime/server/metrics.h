#pragma once
// Server metrics in the Prometheus text format (GET /metrics).

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/server/serving_engine.h"

namespace genrt {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Appends the _bucket, _sum and _count lines of `name`.
  void write(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  void request_finished(const std::string& endpoint, int status);
  void tokens_generated(int64_t n);
  void sequence_cancelled();  // its client went away mid-generation
  void prompt_tokens(int64_t n);
  void time_to_first_token(double seconds);
  void inter_token_latency(double seconds);
  void images_generated(int64_t n);
  void images_cancelled(int64_t n);  // their client went away mid-denoising
  void diffusion_step(double seconds);
  // The running image job has done `step` of its `steps` denoising steps (0 of 0: none runs).
  void image_job_progress(int64_t step, int64_t steps);
  std::string render(const EngineCounts& engine) const;

 private:
  using Clock = std::chrono::steady_clock;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, uint64_t>> requests_;  // "endpoint,status" -> count
  uint64_t generated_ = 0;
  uint64_t prompt_ = 0;
  uint64_t cancelled_ = 0;
  std::deque<std::pair<Clock::time_point, int64_t>> recent_tokens_;  // for the tokens/s gauge
  uint64_t images_ = 0;
  uint64_t images_cancelled_ = 0;
  int64_t image_job_step_ = 0;
  int64_t image_job_steps_ = 0;
  Histogram ttft_;
  Histogram itl_;
  Histogram diffusion_step_;
};

}  // namespace genrt
