#include "runtime/server/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace genrt {

namespace {
constexpr auto kRateWindow = std::chrono::seconds(10);  // tokens/s is averaged over this
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const size_t bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

ServerMetrics::ServerMetrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
      diffusion_step_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}) {}

void ServerMetrics::request_finished(const std::string& endpoint, int status) {
  std::lock_guard lock(mutex_);
  const std::string key = endpoint + "," + std::to_string(status);
  auto it = std::find_if(requests_.begin(), requests_.end(), [&](const auto& p) { return p.first == key; });
  if (it == requests_.end()) {
    requests_.emplace_back(key, 1);
  } else {
    ++it->second;
  }
}

void ServerMetrics::tokens_generated(int64_t n) {
  std::lock_guard lock(mutex_);
  generated_ += static_cast<uint64_t>(n);
  const auto now = Clock::now();
  recent_tokens_.emplace_back(now, n);
  while (now - recent_tokens_.front().first > kRateWindow) recent_tokens_.pop_front();
}

void ServerMetrics::sequence_cancelled() {
  std::lock_guard lock(mutex_);
  ++cancelled_;
}

void ServerMetrics::prompt_tokens(int64_t n) {
  std::lock_guard lock(mutex_);
  prompt_ += static_cast<uint64_t>(n);
}

void ServerMetrics::time_to_first_token(double seconds) {
  std::lock_guard lock(mutex_);
  ttft_.observe(seconds);
}

void ServerMetrics::inter_token_latency(double seconds) {
  std::lock_guard lock(mutex_);
  itl_.observe(seconds);
}

void ServerMetrics::images_generated(int64_t n) {
  std::lock_guard lock(mutex_);
  images_ += static_cast<uint64_t>(n);
}

void ServerMetrics::images_cancelled(int64_t n) {
  std::lock_guard lock(mutex_);
  images_cancelled_ += static_cast<uint64_t>(n);
}

void ServerMetrics::diffusion_step(double seconds) {
  std::lock_guard lock(mutex_);
  diffusion_step_.observe(seconds);
}

void ServerMetrics::image_job_progress(int64_t step, int64_t steps) {
  std::lock_guard lock(mutex_);
  image_job_step_ = step;
  image_job_steps_ = steps;
}

std::string ServerMetrics::render(const EngineCounts& engine) const {
  std::lock_guard lock(mutex_);
  std::string out;
  auto gauge = [&](const char* name, const char* help, double value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, value);
  };
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
  };
  gauge("genrt_requests_running", "Sequences in the running batch.", static_cast<double>(engine.running));
  gauge("genrt_requests_waiting", "Sequences waiting for admission.", static_cast<double>(engine.waiting));
  gauge("genrt_kv_blocks_used", "KV cache blocks in use.", static_cast<double>(engine.kv_blocks_total - engine.kv_blocks_free));
  gauge("genrt_kv_blocks_free", "KV cache blocks free (cached ones no sequence holds included).",
        static_cast<double>(engine.kv_blocks_free));
  gauge("genrt_kv_blocks_cached", "Free KV cache blocks the prefix cache keeps until they are needed.",
        static_cast<double>(engine.kv_blocks_cached));
  counter("genrt_preemptions_total", "Sequences preempted for lack of KV blocks.", static_cast<uint64_t>(engine.preemptions));
  counter("genrt_prefix_cache_queries_total", "Context tokens looked up in the prefix cache at admission.",
          static_cast<uint64_t>(engine.prefix_cache_queries));
  counter("genrt_prefix_cache_hits_total", "Context tokens found in the prefix cache at admission (not computed).",
          static_cast<uint64_t>(engine.prefix_cache_hits));
  counter("genrt_prompt_tokens_total", "Prompt tokens received.", prompt_);
  counter("genrt_prefill_tokens_total", "Context tokens computed outside decodes: prompts past their cached prefix, "
          "and contexts recomputed after a preemption.", static_cast<uint64_t>(engine.prefill_tokens));
  counter("genrt_generation_tokens_total", "Tokens generated.", generated_);
  counter("genrt_sequences_cancelled_total", "Sequences stopped because their client went away.", cancelled_);
  const auto now = Clock::now();
  int64_t recent = 0;
  for (const auto& [when, n] : recent_tokens_) recent += now - when <= kRateWindow ? n : 0;
  gauge("genrt_generation_tokens_per_second", "Tokens generated per second over the last 10 s.",
        static_cast<double>(recent) / std::chrono::duration<double>(kRateWindow).count());
  out += "# HELP genrt_http_requests_total HTTP requests by endpoint and status.\n# TYPE genrt_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const size_t comma = key.find(',');
    out += fmt::format("genrt_http_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.substr(0, comma),
                       key.substr(comma + 1), n);
  }
  ttft_.write(out, "genrt_time_to_first_token_seconds", "Time from request to first token.");
  itl_.write(out, "genrt_inter_token_latency_seconds", "Time between consecutive tokens of a sequence.");
  counter("genrt_images_generated_total", "Images generated (/v1/images/generations).", images_);
  counter("genrt_images_cancelled_total", "Images stopped because their client went away.", images_cancelled_);
  gauge("genrt_image_job_step", "Denoising steps the running image job has done (0 when none runs).",
        static_cast<double>(image_job_step_));
  gauge("genrt_image_job_steps", "Denoising steps of the running image job (0 when none runs).",
        static_cast<double>(image_job_steps_));
  diffusion_step_.write(out, "genrt_diffusion_step_seconds", "Time of one denoising step (the whole batch).");
  return out;
}

}  // namespace genrt
