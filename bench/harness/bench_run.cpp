#include "bench/harness/bench_run.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include <spdlog/spdlog.h>

#include "runtime/backend/ops.h"
#include "runtime/core/error.h"
#include "runtime/core/max_rel_diff.h"
#include "runtime/models/random_weights.h"

namespace genrt::bench {

namespace {

// Inputs of a case as fp32 host values the run dtype represents exactly, so the device
// and the CPU reference see the same numbers.
std::vector<float> input_values(const InputSpec& spec, DType dtype, uint64_t index) {
  if (!spec.values.empty()) return spec.values;
  if (spec.scale == 0.0f) return std::vector<float>(static_cast<size_t>(shape_numel(spec.shape)));
  Tensor t = Tensor::zeros(spec.shape, spec.kind == InputSpec::Kind::f32 ? DType::f32 : dtype);
  fill_uniform(t, /*seed=*/1234, index, spec.scale);
  const Tensor f = t.to_f32();
  return {f.data<float>(), f.data<float>() + f.numel()};
}

std::vector<Tensor> make_tensors(BenchDevice& device, const OpCase& c, const std::vector<std::vector<float>>& values,
                                 DType dtype) {
  std::vector<Tensor> tensors;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const InputSpec& spec = c.inputs[i];
    switch (spec.kind) {
      case InputSpec::Kind::ids: tensors.push_back(device.upload_ids(spec.ids, spec.shape)); break;
      case InputSpec::Kind::f32: tensors.push_back(device.upload(values[i], spec.shape, DType::f32)); break;
      case InputSpec::Kind::activation: tensors.push_back(device.upload(values[i], spec.shape, dtype)); break;
    }
  }
  return tensors;
}

std::string shape_summary(const nlohmann::json& shape) {
  std::string out;
  for (const auto& [key, value] : shape.items()) {
    out += (out.empty() ? "" : " ") + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return out;
}

std::string run_command(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return {};
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) out += buffer;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

std::string source_commit() {
  if (const char* env = std::getenv("GENRT_COMMIT"); env != nullptr && *env != '\0') return env;
  const std::string dir = GENRT_SOURCE_DIR;
  const std::string head = run_command("git -C '" + dir + "' rev-parse HEAD 2>/dev/null");
  if (head.empty()) return "unknown";
  const bool dirty = !run_command("git -C '" + dir + "' status --porcelain --untracked-files=no 2>/dev/null").empty();
  return head + (dirty ? "-dirty" : "");
}

void set_best_peer(nlohmann::json& line) {
  line["peer"] = nullptr;
  line["ratio_vs_peer"] = nullptr;
  if (!line.contains("peers")) return;
  double best = 0.0;
  for (const auto& [name, peer] : line["peers"].items()) {
    if (!peer.contains("median_ms")) continue;
    const double ms = peer["median_ms"].get<double>();
    if (best == 0.0 || ms < best) {
      best = ms;
      line["peer"] = name;
    }
  }
  if (best > 0.0) line["ratio_vs_peer"] = best / line["median_ms"].get<double>();
}

BenchRun::BenchRun(BenchOptions options, BenchDevice& device)
    : options_(std::move(options)), device_(device), commit_(source_commit()), properties_(device.properties()) {}

nlohmann::json BenchRun::base_line(const std::string& suite, const std::string& op, const nlohmann::json& shape) const {
  return {{"suite", suite},
          {"op", op},
          {"case", op + (shape.empty() ? "" : " " + shape_summary(shape))},
          {"shape", shape},
          {"dtype", dtype_name(dtype())},
          {"device", device_name(device_.device())},
          {"device_name", device_.name()},
          {"device_properties", properties_},
          {"commit", commit_}};
}

std::vector<OpCase> BenchRun::peak_cases() const {
  const bool gpu = device_.device() == Device::cuda;
  // 1 GiB copies on the GPU (far beyond L2); the CPU copies 256 MiB.
  const int64_t copy_floats = gpu ? (int64_t{1} << 28) : (int64_t{1} << 26);
  // GEMM: 8192^3 saturates an H100's tensor cores; the CPU reference gets a square of 384.
  const int64_t n = gpu ? 8192 : 384;
  OpCase copy{.op = "copy",
              .shape = {{"bytes", copy_floats * 4}},
              .bytes = 2.0 * static_cast<double>(copy_floats) * 4,
              .inputs = {{.shape = {copy_floats}, .kind = InputSpec::Kind::f32, .scale = 0.0f},
                         {.shape = {copy_floats}, .kind = InputSpec::Kind::f32, .scale = 0.0f}},
              .unchecked_reason = "a plain copy (cudaMemcpyAsync / memcpy)"};
  copy.run = [this](std::vector<Tensor>& t) { device_.copy(t[0], t[1]); };
  OpCase gemm{.op = "gemm",
              .shape = {{"m", n}, {"n", n}, {"k", n}},
              .flops = 2.0 * static_cast<double>(n) * n * n,
              .inputs = {{.shape = {n, n}}, {.shape = {n, n}}, {.shape = {n, n}}},
              .outputs = {2},
              .small = !gpu};
  gemm.run = [](std::vector<Tensor>& t) { ops::linear(t[0], t[1], Tensor(), t[2]); };
  return {copy, gemm};
}

const std::vector<nlohmann::json>& BenchRun::peak_lines() {
  if (!peak_) {
    spdlog::info("measuring the peaks (copy bandwidth, GEMM) for fraction_of_peak");
    for (const OpCase& c : peak_cases()) peak_lines_.push_back(run_case("peak", c));
    peak_ = Peak{.copy_gbps = peak_lines_[0].at("value").get<double>(),
                 .gemm_tflops = peak_lines_[1].at("value").get<double>()};
  }
  return peak_lines_;
}

const Peak& BenchRun::peak() {
  peak_lines();
  return *peak_;
}

nlohmann::json BenchRun::run_case(const std::string& suite, const OpCase& c) {
  const DType dtype = this->dtype();
  std::vector<std::vector<float>> values;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    values.push_back(c.inputs[i].kind == InputSpec::Kind::ids ? std::vector<float>{}
                                                               : input_values(c.inputs[i], dtype, i));
  }
  std::vector<Tensor> tensors = make_tensors(device_, c, values, dtype);
  nlohmann::json line = base_line(suite, c.op, c.shape);
  line["x"] = c.x;
  line["x_name"] = c.x_name;
  line["series"] = c.series.empty() ? c.op : c.series;

  // Check before timing: one run on fresh inputs against the CPU reference.
  if (!c.unchecked_reason.empty()) {
    line["check"] = {{"skipped", c.unchecked_reason}};
  } else if (c.small || options_.check) {
    c.run(tensors);
    std::vector<std::vector<float>> got;
    for (size_t i : c.outputs) got.push_back(device_.download(tensors[i]));
    std::unique_ptr<BenchDevice> cpu = open_bench_device(Device::cpu);
    std::vector<Tensor> reference = make_tensors(*cpu, c, values, DType::f32);
    c.run(reference);
    double worst = 0.0;
    for (size_t j = 0; j < c.outputs.size(); ++j) {
      const std::vector<float> want = cpu->download(reference[c.outputs[j]]);
      worst = std::max(worst, max_rel_diff(got[j].data(), want.data(), want.size()));
    }
    const double tolerance = dtype == DType::f32 ? std::min(1e-4, c.tolerance) : c.tolerance;
    line["check"] = {{"against", "cpu-reference"}, {"max_rel_err", worst}, {"tolerance", tolerance},
                     {"ok", worst <= tolerance}};
    if (worst > tolerance) {
      spdlog::error("{} {}: CHECK FAILED: {:.3g} relative difference from the CPU reference (tolerance {:.3g})",
                    suite, line["case"].get<std::string>(), worst, tolerance);
    }
    tensors = make_tensors(device_, c, values, dtype);
  } else {
    line["check"] = {{"skipped", "large case: --check compares it with the CPU reference too (slow)"}};
  }

  const bool memory_bound = c.flops == 0.0;
  const Timing ours = device_.time([&] { c.run(tensors); }, memory_bound, options_.measure);
  line["median_ms"] = ours.median_ms;
  line["p10_ms"] = ours.p10_ms;
  line["p90_ms"] = ours.p90_ms;
  line["reps"] = ours.reps;
  const double seconds = ours.median_ms / 1e3;
  if (c.bytes > 0.0) line["gbps"] = c.bytes / seconds / 1e9;
  if (c.flops > 0.0) line["tflops"] = c.flops / seconds / 1e12;
  line["metric"] = memory_bound ? "GB/s" : "TFLOP/s";
  line["value"] = memory_bound ? line["gbps"] : line["tflops"];

  for (const auto& [name, why] : c.missing_peers) line["peers"][name] = {{"skipped", why}};
  for (const auto& [name, peer_run] : c.peers) {
    const OpRun& run = peer_run;  // a lambda may not capture a structured binding before C++20's clang 16
    const Timing t = device_.time([&] { run(tensors); }, memory_bound, options_.measure);
    line["peers"][name] = {{"median_ms", t.median_ms}, {"p10_ms", t.p10_ms}, {"p90_ms", t.p90_ms}};
  }
  set_best_peer(line);

  // The peak cases are the denominators themselves.
  const Peak p = suite == "peak" ? Peak{} : peak();
  const double denominator = memory_bound ? p.copy_gbps : p.gemm_tflops;
  line["peak"] = {{"copy_gbps", p.copy_gbps}, {"gemm_tflops", p.gemm_tflops}};
  line["fraction_of_peak"] = denominator > 0.0 ? nlohmann::json(line["value"].get<double>() / denominator)
                                               : nlohmann::json(suite == "peak" ? 1.0 : 0.0);
  return line;
}

void BenchRun::add_torch_peer(std::vector<nlohmann::json>& lines) const {
  if (options_.torch_peer.empty() || lines.empty()) return;
  // The option, then $GENRT_TORCH_PEER_SCRIPT (a relocated build: the GPU bundle), then the
  // source tree the bench was built from.
  const char* env_script = std::getenv("GENRT_TORCH_PEER_SCRIPT");
  const std::string script = !options_.torch_peer_script.empty() ? options_.torch_peer_script
                             : env_script != nullptr && *env_script != '\0'
                                 ? std::string(env_script)
                                 : std::string(GENRT_SOURCE_DIR) + "/bench/peers/torch_peer.py";
  const auto dir = std::filesystem::temp_directory_path() / ("genrt_bench_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto cases = dir / "cases.jsonl", results = dir / "results.jsonl", errors = dir / "errors.txt";
  {
    std::ofstream out(cases);
    for (size_t i = 0; i < lines.size(); ++i) {
      const nlohmann::json& l = lines[i];
      nlohmann::json c{{"id", i},          {"suite", l["suite"]}, {"op", l["op"]},
                       {"shape", l["shape"]}, {"dtype", l["dtype"]}, {"device", l["device"]},
                       {"model", l.value("model", nlohmann::json())}};
      // Whole-model cases (e2e-decode) say how long the run was, so the peer runs the same.
      for (const char* field : {"prompt_tokens", "new_tokens"}) {
        if (l.contains(field)) c[field] = l[field];
      }
      out << c.dump() << "\n";
    }
  }
  spdlog::info("running the PyTorch peer: {} {}", options_.torch_peer, script);
  const std::string command = "'" + options_.torch_peer + "' '" + script + "' --cases '" + cases.string() +
                              "' --out '" + results.string() + "' 2>'" + errors.string() + "'";
  const int status = std::system(command.c_str());
  std::ifstream err_in(errors);
  const std::string err((std::istreambuf_iterator<char>(err_in)), std::istreambuf_iterator<char>());
  std::ifstream in(results);
  std::string text;
  int merged = 0;
  while (std::getline(in, text)) {
    const nlohmann::json r = nlohmann::json::parse(text);
    nlohmann::json& line = lines.at(r.at("id").get<size_t>());
    if (r.contains("median_ms")) {
      line["peers"][r.at("peer").get<std::string>()] = {
          {"median_ms", r["median_ms"]}, {"p10_ms", r.value("p10_ms", r["median_ms"])},
          {"p90_ms", r.value("p90_ms", r["median_ms"])}};
      set_best_peer(line);
      ++merged;
    }
  }
  std::filesystem::remove_all(dir);
  GENRT_CHECK(status == 0, "the PyTorch peer failed ({}): {}", command, err.empty() ? "no message" : err);
  spdlog::info("PyTorch peer timed {} of {} cases", merged, lines.size());
}

}  // namespace genrt::bench
