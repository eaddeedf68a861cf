#pragma once
// One `genrt bench` invocation: its options, its device, the measured peaks every result
// is a fraction of, and the path from an op case to a result line (check, time, peers).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/harness/bench_device.h"
#include "bench/harness/measure.h"
#include "bench/harness/op_case.h"

namespace genrt::bench {

struct BenchOptions {
  Device device = Device::cuda;
  DType dtype = DType::bf16;
  bool check = false;               // also check the large cases (slow)
  std::vector<std::string> shapes{};  // the suite's shape list; empty: its defaults
  MeasureOptions measure{};
  std::string torch_peer{};         // Python interpreter for bench/peers/torch_peer.py; empty: no torch peer
  std::string torch_peer_script{};  // the script; empty: $GENRT_TORCH_PEER_SCRIPT or the source tree's
  std::string tokenizer{};          // structured-output: the vocabulary its masks walk
  bool op_profile = false;          // e2e-decode, e2e-denoise: one step's op profile in each line
};

// The denominators of fraction_of_peak, measured in the same run.
struct Peak {
  double copy_gbps = 0.0;    // device-to-device copy, bytes read + written per second
  double gemm_tflops = 0.0;  // a large GEMM through the runtime's cuBLASLt wrapper
};

class BenchRun {
 public:
  BenchRun(BenchOptions options, BenchDevice& device);

  const BenchOptions& options() const { return options_; }
  BenchDevice& device() { return device_; }
  // The dtype cases run in (f32 on the CPU).
  DType dtype() const { return device_.run_dtype(options_.dtype); }

  // The peak suite's copy and GEMM lines, and the peaks they measure for every other
  // suite's fraction_of_peak; measured once, on first use.
  const std::vector<nlohmann::json>& peak_lines();
  const Peak& peak();

  // Checks the case (against the CPU reference when it is small or --check is given),
  // then times it and its peers: one result line.
  nlohmann::json run_case(const std::string& suite, const OpCase& c);

  // A result line's common fields (suite, op, device, dtype, commit...) for suites that
  // time whole loops rather than op cases.
  nlohmann::json base_line(const std::string& suite, const std::string& op, const nlohmann::json& shape) const;

  // Adds torch's times (bench/peers/torch_peer.py) to the lines it has a peer for, and
  // recomputes each line's peer and ratio_vs_peer.
  void add_torch_peer(std::vector<nlohmann::json>& lines) const;

 private:
  BenchOptions options_;
  BenchDevice& device_;
  std::vector<OpCase> peak_cases() const;

  std::optional<Peak> peak_;
  std::vector<nlohmann::json> peak_lines_;
  std::string commit_;
  nlohmann::json properties_;
};

// peer: the fastest of line["peers"]; ratio_vs_peer = its median / genrt's (above 1:
// genrt is faster).
void set_best_peer(nlohmann::json& line);

// The commit the results belong to: $GENRT_COMMIT, else the source tree's git HEAD (with
// "-dirty" for local changes), else "unknown".
std::string source_commit();

}  // namespace genrt::bench
