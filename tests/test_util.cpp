#include "tests/test_util.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <unistd.h>

#include "runtime/backend/device_runtime.h"

namespace genrt::test {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("genrt_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ForwardBatch encoder_decoder_step(const std::vector<int32_t>& input, const std::vector<int32_t>& decoder, size_t step,
                                  const BlockTable& blocks) {
  const auto prompt_tokens = static_cast<int64_t>(input.size()) + 1;
  ForwardBatch batch;
  if (step == 0) {
    batch.tokens = input;
    batch.tokens.push_back(decoder[0]);
  } else {
    batch.tokens = {decoder[step]};
  }
  batch.sequences.push_back({.first_token = 0,
                             .n_tokens = std::ssize(batch.tokens),
                             .start_pos = step == 0 ? 0 : prompt_tokens + static_cast<int64_t>(step) - 1,
                             .blocks = &blocks,
                             .prompt_tokens = prompt_tokens});
  return batch;
}

Tensor prefill_logits(const CausalLM& model, const std::vector<int32_t>& tokens) {
  const auto n = static_cast<int64_t>(tokens.size());
  KvCache cache = model.make_kv_cache((n + 15) / 16, 16);
  BlockTable blocks;
  EXPECT_TRUE(cache.reserve(blocks, n));
  const ForwardBatch batch{.tokens = tokens,
                           .sequences = {{.first_token = 0, .n_tokens = n, .start_pos = 0, .blocks = &blocks}}};
  const Tensor logits = model.forward(batch, cache, LogitsFor::all_tokens);
  DeviceRuntime* runtime = model.device_runtime();
  return runtime != nullptr ? runtime->download(logits) : logits;
}

double relative_l2(const float* got, const float* want, size_t n) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    diff += d * d;
    norm += static_cast<double>(want[i]) * want[i];
  }
  const double rel = std::sqrt(diff / std::max(norm, 1e-300));
  return std::isnan(rel) ? std::numeric_limits<double>::infinity() : rel;
}

double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

float max_abs_diff(const float* a, const float* b, size_t n) {
  float worst = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (std::isnan(d)) return std::numeric_limits<float>::quiet_NaN();
    worst = std::max(worst, d);
  }
  return worst;
}

}  // namespace genrt::test
