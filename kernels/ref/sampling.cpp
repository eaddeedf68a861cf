#include "kernels/ref/sampling.h"

#include <array>
#include <vector>

#include "kernels/ref/argmax.h"

namespace genrt::ref {

namespace {

constexpr int kWarp = 32;

// The sum over i in [0, n) of w[i] where keep(w[i]), added in the kernel's order: thread t
// of the block adds i = t, t + kSamplingThreads, ... in turn; each warp adds its lanes by
// an xor butterfly (offsets 16, 8, 4, 2, 1: lane l adds lane l ^ offset); then the warp
// sums are added in warp order.
template <class Keep>
float block_sum(const std::vector<float>& w, const Keep& keep) {
  std::array<float, kSamplingThreads> lane{};
  for (int t = 0; t < kSamplingThreads; ++t) {
    for (size_t i = t; i < w.size(); i += kSamplingThreads) {
      if (keep(w[i])) lane[t] += w[i];
    }
  }
  for (int base = 0; base < kSamplingThreads; base += kWarp) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      std::array<float, kWarp> next{};
      for (int l = 0; l < kWarp; ++l) next[l] = lane[base + l] + lane[base + (l ^ offset)];
      for (int l = 0; l < kWarp; ++l) lane[base + l] = next[l];
    }
  }
  float total = lane[0];
  for (int base = kWarp; base < kSamplingThreads; base += kWarp) total += lane[base];
  return total;
}

int32_t sample_row(const float* logits, int64_t vocab, const SamplingRow& p) {
  if (p.temperature == 0.0f) return static_cast<int32_t>(argmax(logits, vocab));
  float max_logit = -INFINITY;
  for (int64_t i = 0; i < vocab; ++i) max_logit = fmaxf(max_logit, logits[i]);
  const float inv_t = 1.0f / p.temperature;
  std::vector<float> w(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) w[i] = sampling_weight(logits[i], max_logit, inv_t);

  const auto count_at_least = [&](float tau) {
    int64_t count = 0;
    for (float v : w) count += v >= tau ? 1 : 0;
    return count;
  };
  const auto mass_at_least = [&](float tau) { return block_sum(w, [tau](float v) { return v >= tau; }); };
  const float total = mass_at_least(0.0f);
  const float threshold = keep_threshold(p, vocab, total, count_at_least, mass_at_least);

  // The draw: thread t owns the contiguous chunk t of the vocabulary, thread 0 adds the
  // chunks' kept masses in order.
  const int64_t chunk = (vocab + kSamplingThreads - 1) / kSamplingThreads;
  std::array<float, kSamplingThreads> chunk_mass{};
  for (int t = 0; t < kSamplingThreads; ++t) {
    for (int64_t i = t * chunk; i < (t + 1) * chunk && i < vocab; ++i) {
      if (w[i] >= threshold) chunk_mass[t] += w[i];
    }
  }
  float kept_mass = 0.0f;
  for (float m : chunk_mass) kept_mass += m;
  const float u = sampling_draw_point(p.seed, p.step, kept_mass);
  const int64_t token = pick_kept_token(u, chunk_mass.data(), kSamplingThreads, chunk, vocab, threshold,
                                        [&](int64_t i) { return w[i]; });
  return static_cast<int32_t>(token >= 0 ? token : 0);
}

}  // namespace

void sample(const SamplingArgs& a) {
  for (int64_t r = 0; r < a.rows; ++r) a.out[r] = sample_row(a.logits + r * a.vocab, a.vocab, a.params[r]);
}

}  // namespace genrt::ref
