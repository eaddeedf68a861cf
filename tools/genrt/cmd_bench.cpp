// genrt bench: kernel and end-to-end benchmarks with checks, peers and peak fractions
// (bench/harness/), and `genrt bench report` for their tables and plots.

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "bench/harness/bench_run.h"
#include "bench/harness/report.h"
#include "bench/harness/suites.h"
#include "runtime/backend/op_profile.h"
#include "tools/genrt/commands.h"
#include "tools/genrt/common.h"

namespace genrt::cli {

namespace {

struct BenchFlags {
  std::string suite;
  std::vector<std::string> shapes;
  std::string dtype = "bf16";
  std::string device = "cuda";
  std::string json;
  bool check = false;
  std::string torch_peer;
  std::string tokenizer;
  int min_reps = 10;
  double max_seconds = 2.0;
  bool op_profile = false;
};

struct ReportFlags {
  std::vector<std::string> files;
  std::string plot;
  std::string out;
};

// One line per case on stderr as it finishes.
void print_line(const nlohmann::json& l) {
  std::string peer;
  if (l.contains("ratio_vs_peer") && l["ratio_vs_peer"].is_number()) {
    peer = fmt::format(", {:.2f}x {}", l["ratio_vs_peer"].get<double>(), l["peer"].get<std::string>());
  }
  const bool failed = l.contains("check") && l["check"].contains("ok") && !l["check"]["ok"].get<bool>();
  std::fprintf(stderr, "[bench] %-18s %-60s %10.4f ms  %10.4g %-8s %5.1f%% of peak%s%s\n",
               l.value("suite", "").c_str(), l.value("case", "").c_str(), l.value("median_ms", 0.0),
               l.value("value", 0.0), l.value("metric", "").c_str(), 100 * l.value("fraction_of_peak", 0.0),
               peer.c_str(), failed ? "  CHECK FAILED" : "");
  if (l.contains("op_profile")) {
    std::fprintf(stderr, "\nOne step of %s, op by op (launched without CUDA graphs):\n\n%s\n", l.value("case", "").c_str(),
                 op_profile_markdown(l["op_profile"]).c_str());
    if (!l["op_profile"].value("launched_within_hold", true)) {
      std::fprintf(stderr, "The host took longer than the stream's hold to launch the step: the later spans include "
                           "its launch time.\n\n");
    }
  }
}

void run_bench(const BenchFlags& f) {
  std::vector<const bench::Suite*> chosen;
  if (f.suite == "all") {
    for (const bench::Suite& s : bench::suites()) {
      if (s.name == "structured-output" && f.tokenizer.empty()) {
        spdlog::warn("bench all: leaving out structured-output, which needs --tokenizer");
        continue;
      }
      chosen.push_back(&s);
    }
    GENRT_CHECK(f.shapes.empty(), "--shapes applies to one suite, not to all");
  } else {
    chosen.push_back(&bench::find_suite(f.suite));
  }
  GENRT_CHECK(!f.op_profile || f.suite == "all" || f.suite == "e2e-decode" || f.suite == "e2e-denoise",
              "--op-profile profiles the steps of e2e-decode and e2e-denoise, not of {}", f.suite);
  bench::BenchOptions options{.device = parse_device(f.device),
                              .dtype = parse_gpu_dtype(f.dtype),
                              .check = f.check,
                              .shapes = f.shapes,
                              .measure = {.min_reps = f.min_reps, .max_reps = std::max(f.min_reps, 500),
                                          .max_seconds = f.max_seconds},
                              .torch_peer = f.torch_peer,
                              .tokenizer = f.tokenizer,
                              .op_profile = f.op_profile};
  const auto device = bench::open_bench_device(options.device);
  bench::BenchRun run(options, *device);
  spdlog::info("genrt bench on {} ({}), {}, commit {}", device->name(), f.device, dtype_name(run.dtype()),
               bench::source_commit());
  std::ofstream json_out;
  if (!f.json.empty()) {
    json_out.open(f.json, std::ios::app);
    GENRT_CHECK(json_out.good(), "--json: cannot open {}", f.json);
  }
  int failed_checks = 0;
  for (const bench::Suite* suite : chosen) {
    std::vector<nlohmann::json> lines = suite->run(run);
    run.add_torch_peer(lines);
    for (const nlohmann::json& l : lines) {
      print_line(l);
      if (l.contains("check") && l["check"].contains("ok") && !l["check"]["ok"].get<bool>()) ++failed_checks;
      if (json_out.is_open()) {
        json_out << l.dump() << "\n";
      } else {
        std::printf("%s\n", l.dump().c_str());
      }
    }
  }
  if (json_out.is_open()) spdlog::info("appended the results to {}", f.json);
  GENRT_CHECK(failed_checks == 0, "{} case(s) failed their check against the CPU reference (see above)", failed_checks);
}

// Plots are drawn by genrt-plot (bench/plot/), found beside this genrt: the serving binary
// links no cairo.
void run_genrt_plot(const std::string& results, const std::string& png) {
  const std::filesystem::path genrt = std::filesystem::read_symlink("/proc/self/exe");
  std::string plotter = (genrt.parent_path() / "genrt-plot").string();
  GENRT_CHECK(std::filesystem::exists(plotter),
              "--plot: no genrt-plot beside {} (a build without cairo, such as the GPU machine's, has none); "
              "draw the plot where genrt was built with tools/setup.sh: genrt-plot {} --out {}",
              genrt.string(), results, png);
  std::string out_flag = "--out", results_arg = results, png_arg = png;
  char* argv[] = {plotter.data(), results_arg.data(), out_flag.data(), png_arg.data(), nullptr};
  std::fflush(stdout);  // genrt-plot writes to the same stdout, after what is printed so far
  pid_t pid = 0;
  const int spawn_error = ::posix_spawn(&pid, plotter.c_str(), nullptr, nullptr, argv, environ);
  GENRT_CHECK(spawn_error == 0, "--plot: cannot run {}: {}", plotter, std::strerror(spawn_error));
  int status = 0;
  GENRT_CHECK(::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "--plot: genrt-plot failed (see above)");
}

void run_report(const ReportFlags& f) {
  GENRT_CHECK(f.files.size() == 1 || f.files.size() == 2, "bench report takes one results file, or a baseline and "
              "a results file to compare; got {}", f.files.size());
  const std::vector<nlohmann::json> first = bench::read_results(f.files[0]);
  std::string markdown;
  if (f.files.size() == 2) {
    const std::vector<nlohmann::json> shown = bench::read_results(f.files[1]);
    markdown = bench::markdown_report(shown, &first);
  } else {
    markdown = bench::markdown_report(first, nullptr);
  }
  if (f.out.empty()) {
    std::printf("%s", markdown.c_str());
  } else {
    std::ofstream out(f.out);
    GENRT_CHECK(out.good(), "--out: cannot write {}", f.out);
    out << markdown;
    std::printf("wrote %s\n", f.out.c_str());
  }
  if (!f.plot.empty()) run_genrt_plot(f.files.back(), f.plot);
}

std::string suite_help() {
  std::string help = "Suite to run, or all:";
  for (const bench::Suite& s : bench::suites()) help += fmt::format("\n  {:<18} {}", s.name, s.what);
  return help;
}

std::string shapes_help() {
  std::string help = "Comma-separated shapes replacing the suite's defaults:";
  for (const bench::Suite& s : bench::suites()) help += fmt::format("\n  {:<18} {}", s.name, s.shape_format);
  return help;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  auto r = std::make_shared<ReportFlags>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Benchmark genrt's kernels and loops: each case is checked against the CPU reference, timed (median of "
      "repeated CUDA-event timings after warm-up, L2 flushed for memory-bound kernels), set beside its peers "
      "(cuBLAS, cuDNN SDPA, PyTorch with --torch-peer) and against the measured peak of the device; one JSON line per "
      "case");
  cmd->add_option("suite", f->suite, suite_help());
  cmd->add_option("--shapes", f->shapes, shapes_help())->delimiter(',');
  cmd->add_option("--dtype", f->dtype, "bf16 or fp16 (the CPU reference always computes in fp32)")
      ->capture_default_str();
  cmd->add_option("--device", f->device, "cuda, or cpu to run the harness over the CPU reference ops")
      ->capture_default_str();
  cmd->add_option("--json", f->json, "Append the result lines to this file (default: print them)");
  cmd->add_flag("--check", f->check, "Check the large cases against the CPU reference too (slow)");
  cmd->add_option("--torch-peer", f->torch_peer,
                  "Python with torch to run bench/peers/torch_peer.py, whose times join the same lines");
  cmd->add_option("--tokenizer", f->tokenizer,
                  "structured-output: a tokenizer.json (or a directory with one) whose vocabulary the masks walk")
      ->check(CLI::ExistingPath);
  cmd->add_flag("--op-profile", f->op_profile,
                "e2e-decode, e2e-denoise: also time one step op by op, by CUDA events around each op (on the CPU the "
                "host clock), launched without CUDA graphs; printed as a table and kept in the line as op_profile");
  cmd->add_option("--min-reps", f->min_reps, "Timed runs at least, before the median may settle")
      ->capture_default_str();
  cmd->add_option("--max-seconds", f->max_seconds,
                  "Time limit of a case, warm-ups included: at least one warm-up and one timed run, then "
                  "--min-reps and the median's settling give way to it")
      ->check(CLI::Validator(
          [](const std::string& value) {
            double seconds = 0.0;
            return CLI::detail::lexical_cast(value, seconds) && seconds > 0.0
                       ? std::string()
                       : "must be a positive number of seconds, not '" + value + "'";
          },
          "SECONDS > 0"))
      ->capture_default_str();

  CLI::App* report = cmd->add_subcommand(
      "report", "Markdown table of result files: one file, or a baseline and new results with the change per case");
  report->add_option("files", r->files, "results.jsonl, or baseline.jsonl results.jsonl")->required();
  report->add_option("--plot", r->plot,
                     "Also draw each suite's throughput curves into this PNG (with genrt-plot, which a build "
                     "with cairo places beside genrt)");
  report->add_option("--out", r->out, "Write the Markdown here instead of printing it");

  return {cmd, [f, r, report] {
            if (report->parsed()) {
              run_report(*r);
            } else {
              GENRT_CHECK(!f->suite.empty(), "genrt bench: name a suite (see --help), or `report FILE`");
              run_bench(*f);
            }
          }};
}

}  // namespace genrt::cli
