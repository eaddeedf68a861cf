// The norm suite: every row normalization of the runtime, memory-bound, in GB/s of what a
// run must read and write.

#include "bench/harness/suites.h"
#include "runtime/backend/ops.h"

namespace genrt::bench {

namespace {

constexpr float kEps = 1e-5f;

// Llama-style widths from one decode row to a long prefill, DiT-XL's 1152 (256 tokens a
// sample, 16 samples), and a wide 8192.
const std::vector<std::vector<int64_t>> kGpuShapes = {{1, 4096},    {16, 4096},    {512, 4096}, {4096, 4096},
                                                      {16384, 4096}, {4096, 1152}, {4096, 8192}};
const std::vector<std::vector<int64_t>> kCpuShapes = {{4, 256}, {64, 1152}};

}  // namespace

std::vector<nlohmann::json> run_norm_suite(BenchRun& run) {
  const auto shapes = shapes_for(run, kGpuShapes, kCpuShapes, 2, "ROWSxDIM");
  const auto e = static_cast<double>(dtype_size(run.dtype()));
  std::vector<nlohmann::json> lines;
  for (const auto& shape : shapes) {
    const int64_t rows = shape[0], dim = shape[1];
    // adaLN groups: DiT samples of 256 tokens where the rows allow it.
    const int64_t groups = rows % 256 == 0 ? rows / 256 : 1;
    const double rd = static_cast<double>(rows * dim), d = static_cast<double>(dim), gd = static_cast<double>(groups * dim);
    const InputSpec matrix{.shape = {rows, dim}}, vector{.shape = {dim}}, per_group{.shape = {groups, dim}, .scale = 0.5f};
    const nlohmann::json json_shape = {{"rows", rows}, {"dim", dim}};
    const auto base = [&](std::string op, double bytes, std::vector<InputSpec> inputs, std::vector<size_t> outputs) {
      return OpCase{.op = std::move(op), .shape = json_shape, .x = rd, .x_name = "rows x dim", .bytes = bytes * e,
                    .inputs = std::move(inputs), .outputs = std::move(outputs),
                    .small = rows * dim <= (int64_t{1} << 24), .tolerance = rounding_tolerance(run.dtype())};
    };
    std::vector<OpCase> cases;
    // x, weight -> out
    cases.push_back(base("rmsnorm", 2 * rd + d, {matrix, vector, matrix}, {2}));
    cases.back().run = [](std::vector<Tensor>& t) { ops::rmsnorm(t[0], t[1], kEps, t[2]); };
    // x, residual (read and written), weight -> out
    cases.push_back(base("add_rmsnorm", 4 * rd + d, {matrix, matrix, vector, matrix}, {1, 3}));
    cases.back().run = [](std::vector<Tensor>& t) { ops::add_rmsnorm(t[0], t[1], t[2], kEps, t[3]); };
    cases.push_back(base("layernorm", 2 * rd + 2 * d, {matrix, vector, vector, matrix}, {3}));
    cases.back().run = [](std::vector<Tensor>& t) { ops::layernorm(t[0], t[1], t[2], kEps, t[3]); };
    cases.push_back(base("add_layernorm", 4 * rd + 2 * d, {matrix, matrix, vector, vector, matrix}, {1, 4}));
    cases.back().run = [](std::vector<Tensor>& t) { ops::add_layernorm(t[0], t[1], t[2], t[3], kEps, t[4]); };
    // DiT's adaLN: x, gate, residual (read and written), shift, scale -> out
    cases.push_back(base("modulated_layernorm", 4 * rd + 3 * gd, {matrix, per_group, matrix, per_group, per_group, matrix},
                         {2, 5}));
    cases.back().run = [](std::vector<Tensor>& t) { ops::modulated_layernorm(t[0], t[1], t[2], t[3], t[4], 1e-6f, t[5]); };
    for (const OpCase& c : cases) lines.push_back(run.run_case("norm", c));
  }
  return lines;
}

}  // namespace genrt::bench
