#pragma once
// One benchmark case of an op: its inputs, how to run it (the same op entries the models
// call, so one description runs on the CPU reference and on the GPU), what it moves or
// computes per run, and the in-process peers that do the same work.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/tensor.h"

namespace genrt::bench {

struct InputSpec {
  enum class Kind { activation, f32, ids };  // the case's dtype / always fp32 / i32 metadata
  Shape shape{};
  Kind kind = Kind::activation;
  float scale = 1.0f;                // activations and f32: seeded uniform values of this spread (0: zeros)
  std::vector<float> values{};       // f32: given values instead (e.g. rope frequencies)
  std::vector<int32_t> ids{};        // ids: the values
};

// Runs the op on tensors laid out as the case's inputs (outputs are inputs too: buffers).
using OpRun = std::function<void(std::vector<Tensor>& tensors)>;

struct OpCase {
  std::string op{};        // "rmsnorm", "paged_attention", ...
  nlohmann::json shape{};  // the shape parameters, recorded in the result line
  double x = 0.0;          // the plot's x value (sequence length, rows, ...)
  std::string x_name{};    // what x is
  std::string series{};    // the plot's curve this case is a point of (default: op)
  double bytes = 0.0;      // memory a run must move (GB/s), or 0
  double flops = 0.0;      // arithmetic a run does (TFLOP/s), or 0
  std::vector<InputSpec> inputs{};
  std::vector<size_t> outputs{};  // tensors the check compares
  OpRun run{};
  std::map<std::string, OpRun> peers{};  // in-process peers doing the same work ("cuBLAS")
  std::map<std::string, std::string> missing_peers{};  // peers that could not run here, and why
  // Whether the CPU reference is cheap enough to check this case without --check.
  bool small = true;
  // Why the case has no check against the CPU reference, when it has none.
  std::string unchecked_reason{};
  // Largest |got - want| / (1 + |want|) the check accepts for 16-bit dtypes (f32: 1e-4).
  double tolerance = 2e-2;
};

// A 16-bit result rounds to 8 (bf16) or 11 (fp16) bits once or twice on its way out.
inline double rounding_tolerance(DType dtype) { return dtype == DType::f16 ? 5e-3 : 2e-2; }

}  // namespace genrt::bench
