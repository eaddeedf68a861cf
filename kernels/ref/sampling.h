#pragma once
// Drawing a token from each row of logits, with per-row parameters: temperature, then the
// top-k, top-p and min-p filters, then a Philox draw from the kept tokens; temperature 0
// is greedy (ref::argmax: the first largest logit, NaN never wins). The GPU kernel
// (kernels/sampling.cu) and this reference run the same algorithm on the same fp32 values,
// so a seed draws the same tokens on both devices:
//
//   weight w_i = exp((l_i - max) / T), exactly 1 for the largest logit, 0 for NaN;
//   each filter keeps the tokens whose weight is at or above a threshold, found by
//   bisection over [0, 1] without sorting (top-k: the largest threshold that still keeps
//   k tokens; top-p: the largest whose kept mass still reaches top_p of the total; min-p:
//   min_p itself, the largest weight being 1), and the draw keeps what passes all three.
//   Ties at a threshold are all kept.
//
// The sums behind the thresholds and the draw are fp32, so their order matters: the
// reference adds in the order of the kernel's block of kSamplingThreads threads (see
// ref/sampling.cpp), and the per-element formulas below are shared by both.

#include <cmath>
#include <cstdint>

#include "kernels/ref/host_device.h"
#include "kernels/ref/philox.h"

namespace genrt::ref {

// One logits row's parameters: the same bytes on the host and the device.
struct SamplingRow {
  float temperature = 1.0f;  // 0: greedy; else > 0
  int32_t top_k = 0;         // 0 (or >= vocab): off
  float top_p = 1.0f;        // in (0, 1]; 1: off
  float min_p = 0.0f;        // in [0, 1]; 0: off
  uint64_t seed = 0;         // the draw is Philox block `step` of stream 0 under key `seed`
  uint64_t step = 0;         // a sequence's count of earlier draws: each draw is fresh
};

struct SamplingArgs {
  const float* logits = nullptr;       // [rows, vocab]
  const SamplingRow* params = nullptr;  // [rows]
  int32_t* out = nullptr;              // [rows]: the drawn token ids
  int64_t rows = 0;
  int64_t vocab = 0;
};

void sample(const SamplingArgs& args);

// The kernel's block: one per row. The reference sums in its order.
constexpr int kSamplingThreads = 512;
// Halvings of [0, 1] per threshold: 40 resolve it far below the fp32 spacing of any
// probability that matters.
constexpr int kSamplingBisections = 40;

// e^x for x <= 0 from fp32 operations that round alike on the host and the device
// (CUDA's expf and glibc's differ in the last bit, which can move a draw): x = n ln2 + r
// with |r| <= ln2 / 2 (Cody-Waite, ln2 split in two), e^r by its degree-7 Taylor
// polynomial (truncation below 0.1 ulp), times 2^n exactly. Below e^-87 it gives 0: no
// such weight can be drawn next to the largest, 1, and 2^n stays a normal number.
GENRT_HOST_DEVICE inline float sampling_exp(float x) {
  if (!(x >= -87.0f)) return 0.0f;  // -inf and NaN too
  const float n = rintf(x * 1.44269504f);
  float r = fmaf(n, -0.693145752f, x);  // ln2's leading 16 bits: n * them is exact
  r = fmaf(n, -1.42860677e-6f, r);      // the rest of ln2
  float p = 1.98412698e-4f;             // 1/7!
  p = fmaf(p, r, 1.38888889e-3f);
  p = fmaf(p, r, 8.33333333e-3f);
  p = fmaf(p, r, 4.16666667e-2f);
  p = fmaf(p, r, 1.66666667e-1f);
  p = fmaf(p, r, 0.5f);
  p = fmaf(p, r, 1.0f);
  p = fmaf(p, r, 1.0f);
  return ldexpf(p, static_cast<int>(n));
}

// Unnormalized probability of a logit. The largest logit's weight is exactly 1: min-p's
// threshold is relative to it, so min_p = 1 must keep it. (l - max) * (1 / T) is one
// rounding the compilers cannot fuse differently. NaN weighs 0, so every sum excludes it.
GENRT_HOST_DEVICE inline float sampling_weight(float logit, float max_logit, float inv_temperature) {
  if (logit == max_logit) return 1.0f;
  return sampling_exp((logit - max_logit) * inv_temperature);
}

// The largest tau in [0, 1] (to 2^-kSamplingBisections) for which keeps(tau) holds;
// keeps must hold at 0 and fail from some tau on.
template <class Keeps>
GENRT_HOST_DEVICE float bisect_threshold(const Keeps& keeps) {
  float lo = 0.0f, hi = 1.0f;
  for (int it = 0; it < kSamplingBisections; ++it) {
    const float mid = 0.5f * (lo + hi);
    if (keeps(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// The weight a token needs to survive all three filters. count_at_least(tau) and
// mass_at_least(tau) are the number and the summed weight of tokens with w >= tau; total
// is the summed weight of all tokens.
template <class Count, class Mass>
GENRT_HOST_DEVICE float keep_threshold(const SamplingRow& p, int64_t vocab, float total, const Count& count_at_least,
                                       const Mass& mass_at_least) {
  float threshold = p.min_p;
  if (p.top_k > 0 && p.top_k < vocab) {
    threshold = fmaxf(threshold, bisect_threshold([&](float tau) { return count_at_least(tau) >= p.top_k; }));
  }
  if (p.top_p < 1.0f) {
    const float target = p.top_p * total;
    threshold = fmaxf(threshold, bisect_threshold([&](float tau) { return mass_at_least(tau) >= target; }));
  }
  return threshold;
}

// Where the draw lands in [0, kept_mass]: the first word of Philox block `step` of stream
// 0 under `seed`, as a uniform in [0, 1), times the kept mass.
GENRT_HOST_DEVICE inline float sampling_draw_point(uint64_t seed, uint64_t step, float kept_mass) {
  const Philox4 r = philox4x32_10({{static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32), 0u, 0u}}, seed);
  return static_cast<float>((static_cast<double>(r.v[0]) * 0x1.0p-32) * kept_mass);
}

// The token a draw at u picks among the kept tokens (w >= threshold), walking them in id
// order: first over the chunks of `chunk` consecutive tokens with their kept masses
// chunk_mass[chunks], then inside the chunk where u falls. Rounding can leave u at or past
// the kept mass (a draw within 2^-25 of 1 rounds to 1.0f; the chunk sums round too): the
// walk then ends in the last chunk that keeps a token, on its last kept token -- never in
// an empty chunk, never on a token of weight 0. -1 when nothing is kept.
template <class Weight>
GENRT_HOST_DEVICE int64_t pick_kept_token(float u, const float* chunk_mass, int chunks, int64_t chunk, int64_t vocab,
                                          float threshold, const Weight& weight) {
  int c = -1;
  for (int i = 0; i < chunks; ++i) {
    if (!(chunk_mass[i] > 0.0f)) continue;
    c = i;
    if (u < chunk_mass[i]) break;
    u -= chunk_mass[i];
  }
  if (c < 0) return -1;
  int64_t token = -1;
  const int64_t end = (c + 1) * chunk < vocab ? (c + 1) * chunk : vocab;
  for (int64_t i = c * chunk; i < end; ++i) {
    const float w = weight(i);
    if (!(w > 0.0f) || w < threshold) continue;
    token = i;
    if (u < w) break;
    u -= w;
  }
  return token;
}

}  // namespace genrt::ref
