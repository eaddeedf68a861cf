#pragma once
// The suites of `genrt bench`: each turns its shape list (or its defaults for the device)
// into result lines.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/harness/bench_run.h"

namespace genrt::bench {

struct Suite {
  std::string name;
  std::string what;          // one line for --help
  std::string shape_format;  // how --shapes items look, e.g. "ROWSxDIM"
  std::function<std::vector<nlohmann::json>(BenchRun&)> run;
};

const std::vector<Suite>& suites();
const Suite& find_suite(const std::string& name);  // the error lists the suites

// --shapes items of a suite: "4096x4096" -> {4096, 4096}, each with `dims` positive
// numbers; errors name the item and the format.
std::vector<std::vector<int64_t>> parse_shapes(const std::vector<std::string>& items, size_t dims,
                                               const std::string& format);

// "tinyllama-1.1b:8" -> {"tinyllama-1.1b", 8}: a preset and a batch.
struct PresetBatch {
  std::string preset;
  int64_t batch = 1;
};
std::vector<PresetBatch> parse_preset_batches(const std::vector<std::string>& items, const std::string& format);

// A suite's cases: parsed --shapes when given, else its defaults for the run's device.
using ShapeList = std::vector<std::vector<int64_t>>;
ShapeList shapes_for(BenchRun& run, const ShapeList& gpu_defaults, const ShapeList& cpu_defaults, size_t dims,
                     const std::string& format);
std::vector<PresetBatch> preset_batches_for(BenchRun& run, const std::vector<std::string>& gpu_defaults,
                                            const std::vector<std::string>& cpu_defaults, const std::string& format);

// The suites' bodies, one file per family.
std::vector<nlohmann::json> run_peak_suite(BenchRun& run);
std::vector<nlohmann::json> run_norm_suite(BenchRun& run);
std::vector<nlohmann::json> run_rope_suite(BenchRun& run);
std::vector<nlohmann::json> run_gemm_suite(BenchRun& run);
std::vector<nlohmann::json> run_attention_prefill_suite(BenchRun& run);
std::vector<nlohmann::json> run_attention_decode_suite(BenchRun& run);
std::vector<nlohmann::json> run_sampling_suite(BenchRun& run);
std::vector<nlohmann::json> run_e2e_decode_suite(BenchRun& run);
std::vector<nlohmann::json> run_e2e_denoise_suite(BenchRun& run);
std::vector<nlohmann::json> run_e2e_embed_suite(BenchRun& run);
std::vector<nlohmann::json> run_structured_output_suite(BenchRun& run);

}  // namespace genrt::bench
