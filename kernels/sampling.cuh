#pragma once
// Sampling from logits on the GPU: temperature, then top-k, top-p and min-p filters, then
// a draw from the kept tokens -- the distribution of the CPU sampler
// (runtime/engine/sampler.cpp), without sorting the vocabulary.
//
// Each filter keeps a prefix of the tokens in descending probability, which is the set of
// tokens at or above a probability threshold; the kernel finds each threshold by bisection
// (top-k: the k-th largest probability; top-p: the largest threshold whose kept mass still
// reaches top_p; min-p: min_p times the largest) and keeps what is above all of them.
// Ties at a threshold are all kept (the CPU sampler breaks them by token id). The draw
// uses Philox (kernels/ref/philox.h), so a seed gives the same tokens on every run on the
// GPU -- a different stream from the CPU sampler's.

#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::kernels {

struct SamplingLaunch {
  const float* logits = nullptr;  // [rows, vocab] fp32
  int32_t* out = nullptr;         // [rows]
  int64_t rows = 0;
  int64_t vocab = 0;
  float temperature = 1.0f;       // > 0 (temperature 0 is argmax: launch_argmax)
  int64_t top_k = 0;              // 0: off
  float top_p = 1.0f;             // 1: off
  float min_p = 0.0f;             // 0: off
  uint64_t seed = 0;              // row r draws Philox value `step` of stream r
  uint64_t step = 0;
};

cudaError_t launch_sampling(const SamplingLaunch& args, cudaStream_t stream);

}  // namespace genrt::kernels
