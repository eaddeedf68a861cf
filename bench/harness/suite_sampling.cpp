// The sampling suite: one token per logits row with temperature, top-k and top-p, in GB/s
// of one read of the logits. The op entry finds its thresholds by bisection without
// sorting, on either device; the GPU's tokens must equal the CPU reference's.

#include <vector>

#include "bench/harness/suites.h"
#include "runtime/backend/sampling_ops.h"

namespace genrt::bench {

namespace {

// Batches of 1 to 256 rows over Llama-2 (32000) and Llama-3 (128256) vocabularies.
const std::vector<std::vector<int64_t>> kGpuShapes = {{1, 32000}, {1, 128256}, {64, 128256}, {256, 128256}};
const std::vector<std::vector<int64_t>> kCpuShapes = {{1, 32000}, {8, 512}};

// Every row: temperature 0.8, top-k 50, top-p 0.9, its own draw; as the op's i32 words.
std::vector<int32_t> sampling_words(int64_t rows) {
  std::vector<ops::SamplingRow> params;
  for (int64_t r = 0; r < rows; ++r) {
    params.push_back({.temperature = 0.8f, .top_k = 50, .top_p = 0.9f, .seed = 1, .step = static_cast<uint64_t>(r)});
  }
  const Tensor packed = ops::sampling_rows(params);
  return {packed.data<int32_t>(), packed.data<int32_t>() + packed.numel()};
}

}  // namespace

std::vector<nlohmann::json> run_sampling_suite(BenchRun& run) {
  const auto shapes = shapes_for(run, kGpuShapes, kCpuShapes, 2, "ROWSxVOCAB");
  std::vector<nlohmann::json> lines;
  for (const auto& shape : shapes) {
    const int64_t rows = shape[0], vocab = shape[1];
    std::vector<int32_t> words = sampling_words(rows);
    const int64_t words_per_row = static_cast<int64_t>(words.size()) / rows;
    OpCase c{.op = "sample_top_k_top_p",
             .shape = {{"rows", rows}, {"vocab", vocab}},
             .x = static_cast<double>(rows),
             .x_name = "rows",
             .series = "temperature 0.8, top-k 50, top-p 0.9, vocab " + std::to_string(vocab),
             .bytes = 4.0 * rows * vocab,
             .inputs = {{.shape = {rows, vocab}, .kind = InputSpec::Kind::f32, .scale = 4.0f},
                        {.shape = {rows, words_per_row}, .kind = InputSpec::Kind::ids, .ids = std::move(words)},
                        {.shape = {rows}, .kind = InputSpec::Kind::ids,
                         .ids = std::vector<int32_t>(static_cast<size_t>(rows))}},
             .outputs = {2},
             // The reference's fp32 sums follow the kernel's order: about 80 passes a row.
             .small = rows <= 32,
             .tolerance = 0.0};
    c.run = [](std::vector<Tensor>& t) { ops::sample(t[0], t[1], t[2]); };
    lines.push_back(run.run_case("sampling", c));
  }
  return lines;
}

}  // namespace genrt::bench
