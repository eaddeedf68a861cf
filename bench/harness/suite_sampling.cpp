// The sampling suite: one token per logits row with temperature, top-k and top-p, in GB/s
// of one read of the logits. The GPU kernel finds its thresholds by bisection without
// sorting; the CPU sampler sorts (and works on a copy of each row, which it modifies).

#include <algorithm>
#include <vector>

#include "bench/harness/suites.h"
#include "runtime/engine/sampler.h"

#ifdef GENRT_HAVE_CUDA
#include "bench/harness/cuda_peers.h"
#endif

namespace genrt::bench {

namespace {

// Batches of 1 to 256 rows over Llama-2 (32000) and Llama-3 (128256) vocabularies.
const std::vector<std::vector<int64_t>> kGpuShapes = {{1, 32000}, {1, 128256}, {64, 128256}, {256, 128256}};
const std::vector<std::vector<int64_t>> kCpuShapes = {{1, 32000}, {8, 512}};

const SamplingParams kParams{.temperature = 0.8f, .top_k = 50, .top_p = 0.9f, .seed = 1};

void sample_on_cpu(const Tensor& logits, Tensor& ids) {
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  Sampler sampler(kParams);
  std::vector<float> row(static_cast<size_t>(vocab));
  for (int64_t r = 0; r < rows; ++r) {
    std::copy_n(logits.data<float>() + r * vocab, vocab, row.begin());
    ids.data<int32_t>()[r] = sampler.sample(row, {});
  }
}

}  // namespace

std::vector<nlohmann::json> run_sampling_suite(BenchRun& run) {
  const auto shapes = shapes_for(run, kGpuShapes, kCpuShapes, 2, "ROWSxVOCAB");
  std::vector<nlohmann::json> lines;
  for (const auto& shape : shapes) {
    const int64_t rows = shape[0], vocab = shape[1];
    OpCase c{.op = "sample_top_k_top_p",
             .shape = {{"rows", rows}, {"vocab", vocab}},
             .x = static_cast<double>(rows),
             .x_name = "rows",
             .series = "temperature 0.8, top-k 50, top-p 0.9, vocab " + std::to_string(vocab),
             .bytes = 4.0 * rows * vocab,
             .inputs = {{.shape = {rows, vocab}, .kind = InputSpec::Kind::f32, .scale = 4.0f},
                        {.shape = {rows}, .kind = InputSpec::Kind::ids,
                         .ids = std::vector<int32_t>(static_cast<size_t>(rows))}},
             .unchecked_reason = "the GPU draws from its own Philox stream, not the CPU sampler's; "
                                 "tests/gpu/sampling_gpu_test.cpp checks its kept sets and draw frequencies"};
    c.run = [](std::vector<Tensor>& t) {
#ifdef GENRT_HAVE_CUDA
      if (t[0].device() == Device::cuda) return sample_on_gpu(t[0], kParams, t[1]);
#endif
      sample_on_cpu(t[0], t[1]);
    };
    lines.push_back(run.run_case("sampling", c));
  }
  return lines;
}

}  // namespace genrt::bench
