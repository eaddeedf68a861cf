// The gemm suite: the runtime's one GEMM (ops::linear: cuBLASLt with a cached heuristic
// plan) next to plain cuBLAS on the same operands, in TFLOP/s.

#include "bench/harness/suites.h"
#include "runtime/backend/ops.h"

#ifdef GENRT_HAVE_CUDA
#include "bench/harness/cuda_peers.h"
#endif

namespace genrt::bench {

namespace {

// Llama-3-8B's projections at decode (m = 1, 16, 64), prefill (m = 512, 4096) and its MLP;
// a large square.
const std::vector<std::vector<int64_t>> kGpuShapes = {{1, 4096, 4096},    {16, 4096, 4096},  {64, 4096, 4096},
                                                      {512, 4096, 4096},  {4096, 4096, 4096}, {4096, 14336, 4096},
                                                      {4096, 4096, 14336}, {8192, 8192, 8192}};
const std::vector<std::vector<int64_t>> kCpuShapes = {{1, 256, 256}, {64, 256, 192}};

}  // namespace

std::vector<nlohmann::json> run_gemm_suite(BenchRun& run) {
  const bool gpu = run.device().device() == Device::cuda;
  const auto shapes = shapes_for(run, kGpuShapes, kCpuShapes, 3, "MxNxK");
  std::vector<nlohmann::json> lines;
  for (const auto& shape : shapes) {
    const int64_t m = shape[0], n = shape[1], k = shape[2];
    OpCase c{.op = "linear",
             .shape = {{"m", m}, {"n", n}, {"k", k}},
             .x = static_cast<double>(m),
             .x_name = "m (tokens)",
             .series = "linear n=" + std::to_string(n) + " k=" + std::to_string(k),
             .flops = 2.0 * m * n * k,
             // Inputs of spread 0.1 keep the k-long fp32 sums O(1) next to the output rounding.
             .inputs = {{.shape = {m, k}, .scale = 0.1f}, {.shape = {n, k}, .scale = 0.1f}, {.shape = {m, n}}},
             .outputs = {2},
             .small = static_cast<double>(m) * n * k <= 2e8,
             .tolerance = rounding_tolerance(run.dtype())};
    c.run = [](std::vector<Tensor>& t) { ops::linear(t[0], t[1], Tensor(), t[2]); };
#ifdef GENRT_HAVE_CUDA
    if (gpu) c.peers["cuBLAS"] = [](std::vector<Tensor>& t) { cublas_linear(t[0], t[1], t[2]); };
#endif
    lines.push_back(run.run_case("gemm", c));
  }
  return lines;
}

}  // namespace genrt::bench
