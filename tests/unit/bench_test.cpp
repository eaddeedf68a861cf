// The benchmark harness on the CPU: the timing loop's statistics and stopping rule, shape
// parsing, a case's line (check, timing, peak fraction, peers), a check that fails, the
// PyTorch peer's merge (through a stand-in script), and the Markdown report.

#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "bench/harness/bench_run.h"
#include "bench/harness/report.h"
#include "bench/harness/suites.h"
#include "runtime/backend/ops.h"
#include "tests/test_util.h"

namespace genrt::bench {
namespace {

const MeasureOptions kQuick{.warmup = 1, .min_reps = 3, .max_reps = 20, .max_seconds = 0.05};

TEST(BenchMeasure, SummarizeGivesMedianAndNearestRankPercentiles) {
  const Timing t = summarize({5, 1, 4, 2, 3, 10, 6, 7, 8, 9});
  EXPECT_DOUBLE_EQ(t.median_ms, 5.5);
  EXPECT_DOUBLE_EQ(t.p10_ms, 1);
  EXPECT_DOUBLE_EQ(t.p90_ms, 9);
  EXPECT_EQ(t.reps, 10);
  EXPECT_DOUBLE_EQ(summarize({2, 1, 3}).median_ms, 2);
  EXPECT_ERROR(summarize({}), "no timed runs");
}

TEST(BenchMeasure, StopsWhenTheMedianSettlesOrTimeRunsOut) {
  int runs = 0;
  double clock = 0.0;
  const auto wall = [&] { return clock; };
  // Constant times: the median is settled at the second check.
  const Timing steady = measure([&] { ++runs; return 1.0; }, wall, {.warmup = 2, .min_reps = 10, .max_reps = 100});
  EXPECT_EQ(steady.reps, 15);
  EXPECT_EQ(runs, 17);
  // Ever-growing times never settle: the clock (1 s per run) ends it past max_seconds.
  double t = 0.0;
  const Timing drifting = measure([&] { clock += 1.0; return t += 1.0; }, wall,
                                  {.warmup = 0, .min_reps = 5, .max_reps = 1000, .max_seconds = 12});
  EXPECT_EQ(drifting.reps, 13);
  // Slow runs (3 s each) against a 1 s limit: one warm-up and one timed run, whatever
  // warmup and min_reps ask for.
  int slow_runs = 0;
  const Timing slow = measure([&] { ++slow_runs; clock += 3.0; return 3.0; }, wall,
                              {.warmup = 3, .min_reps = 10, .max_reps = 100, .max_seconds = 1});
  EXPECT_EQ(slow.reps, 1);
  EXPECT_EQ(slow_runs, 2);
  const Timing capped = measure([&] { return t += 1.0; }, wall, {.warmup = 0, .min_reps = 5, .max_reps = 7});
  EXPECT_EQ(capped.reps, 7);
}

TEST(BenchShapes, ParseAndRejectWithTheFormat) {
  EXPECT_EQ(parse_shapes({"4096x4096", "1x8"}, 2, "ROWSxDIM"), (std::vector<std::vector<int64_t>>{{4096, 4096}, {1, 8}}));
  EXPECT_ERROR(parse_shapes({"4096x"}, 2, "ROWSxDIM"), "--shapes 4096x: '' is not a positive number (expected ROWSxDIM)");
  EXPECT_ERROR(parse_shapes({"0x4"}, 2, "ROWSxDIM"), "'0' is not a positive number");
  EXPECT_ERROR(parse_shapes({"1x2x3"}, 2, "ROWSxDIM"), "--shapes 1x2x3: 3 numbers, expected 2 (ROWSxDIM)");
  const auto cases = parse_preset_batches({"tinyllama-1.1b:8"}, "PRESET:BATCH");
  EXPECT_EQ(cases[0].preset, "tinyllama-1.1b");
  EXPECT_EQ(cases[0].batch, 8);
  EXPECT_ERROR(parse_preset_batches({"tinyllama"}, "PRESET:BATCH"), "--shapes tinyllama: expected PRESET:BATCH");
  EXPECT_ERROR(find_suite("flash"), "unknown bench suite 'flash': expected one of peak, norm, rope");
}

// A case of the CPU device around ops::rmsnorm.
OpCase rmsnorm_case() {
  OpCase c{.op = "rmsnorm", .shape = {{"rows", 8}, {"dim", 64}}, .x = 512, .x_name = "rows x dim",
           .bytes = 4.0 * (2 * 8 * 64 + 64),
           .inputs = {{.shape = {8, 64}}, {.shape = {64}}, {.shape = {8, 64}}}, .outputs = {2}};
  c.run = [](std::vector<Tensor>& t) { ops::rmsnorm(t[0], t[1], 1e-5f, t[2]); };
  return c;
}

class BenchRunCpu : public ::testing::Test {
 protected:
  std::unique_ptr<BenchDevice> device_ = open_bench_device(Device::cpu);
  BenchRun run_{{.device = Device::cpu, .measure = kQuick}, *device_};
};

TEST_F(BenchRunCpu, CaseLineHasTimingThroughputPeakCheckAndPeers) {
  OpCase c = rmsnorm_case();
  c.peers["twice"] = [run = c.run](std::vector<Tensor>& t) { run(t); run(t); };
  const nlohmann::json line = run_.run_case("norm", c);
  EXPECT_EQ(line["suite"], "norm");
  EXPECT_EQ(line["case"], "rmsnorm dim=64 rows=8");
  EXPECT_EQ(line["dtype"], "f32");
  EXPECT_EQ(line["device"], "cpu");
  EXPECT_FALSE(line["commit"].get<std::string>().empty());
  EXPECT_EQ(line["check"]["against"], "cpu-reference");
  EXPECT_TRUE(line["check"]["ok"].get<bool>());
  EXPECT_GT(line["median_ms"].get<double>(), 0.0);
  EXPECT_LE(line["p10_ms"].get<double>(), line["median_ms"].get<double>());
  EXPECT_GE(line["p90_ms"].get<double>(), line["median_ms"].get<double>());
  EXPECT_EQ(line["metric"], "GB/s");
  EXPECT_DOUBLE_EQ(line["value"].get<double>(), c.bytes / (line["median_ms"].get<double>() / 1e3) / 1e9);
  EXPECT_GT(line["peak"]["copy_gbps"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(line["fraction_of_peak"].get<double>(),
                   line["value"].get<double>() / line["peak"]["copy_gbps"].get<double>());
  EXPECT_EQ(line["peer"], "twice");
  EXPECT_NEAR(line["ratio_vs_peer"].get<double>(),
              line["peers"]["twice"]["median_ms"].get<double>() / line["median_ms"].get<double>(), 1e-12);
}

TEST_F(BenchRunCpu, ACheckThatFailsIsRecorded) {
  OpCase c = rmsnorm_case();
  // The first call (the device's run) is off by one; the reference call is right.
  int calls = 0;
  c.run = [&calls, run = c.run](std::vector<Tensor>& t) {
    run(t);
    if (calls++ == 0) t[2].data<float>()[3] += 1.0f;
  };
  const nlohmann::json line = run_.run_case("norm", c);
  EXPECT_FALSE(line["check"]["ok"].get<bool>());
  EXPECT_GT(line["check"]["max_rel_err"].get<double>(), 0.1);
  c.small = false;
  EXPECT_TRUE(run_.run_case("norm", c)["check"].contains("skipped"));  // large cases need --check
}

// e2e-embed on the CPU: the tiny BERT's batch through the embedder, as sequences/s whose
// time is the line's median, and the model's shape for the torch peer.
TEST_F(BenchRunCpu, EmbedSuiteTimesBatchesOfTheEncoder) {
  BenchRun run({.device = Device::cpu, .shapes = {"bert-tiny:2"}, .measure = kQuick}, *device_);
  const std::vector<nlohmann::json> lines = find_suite("e2e-embed").run(run);
  ASSERT_EQ(lines.size(), 1u);
  const nlohmann::json& line = lines[0];
  EXPECT_EQ(line["suite"], "e2e-embed");
  EXPECT_EQ(line["shape"], nlohmann::json({{"preset", "bert-tiny"}, {"batch", 2}, {"tokens", 128}}));
  EXPECT_EQ(line["metric"], "sequences/s");
  EXPECT_DOUBLE_EQ(line["value"].get<double>(), 2 / (line["median_ms"].get<double>() / 1e3));
  EXPECT_DOUBLE_EQ(line["tokens_per_s"].get<double>(), 128 * line["value"].get<double>());
  EXPECT_GT(line["tflops"].get<double>(), 0.0);
  EXPECT_EQ(line["model"]["hidden"], 128);
  EXPECT_EQ(line["model"]["layers"], 2);
  BenchRun unknown({.device = Device::cpu, .shapes = {"bert-huge:1"}, .measure = kQuick}, *device_);
  EXPECT_ERROR(find_suite("e2e-embed").run(unknown), "unknown BERT preset 'bert-huge': expected one of bert-base, bert-tiny");
}

// --op-profile on the CPU: one decode step of stories260K op by op, whose linear and
// attention calls are those of one step of its layers, and one DiT denoising step.
TEST_F(BenchRunCpu, OpProfileTimesOneStepOpByOp) {
  BenchRun decode({.device = Device::cpu, .shapes = {"stories260k:2"}, .measure = kQuick, .op_profile = true},
                  *device_);
  const std::vector<nlohmann::json> lines = find_suite("e2e-decode").run(decode);
  ASSERT_EQ(lines.size(), 1u);
  const nlohmann::json& profile = lines[0]["op_profile"];
  const int64_t layers = lines[0]["model"]["layers"].get<int64_t>();
  std::map<std::string, int64_t> calls;
  double shares = 0.0;
  for (const nlohmann::json& op : profile["ops"]) {
    calls[op["op"].get<std::string>()] = op["calls"].get<int64_t>();
    shares += op["share"].get<double>();
  }
  // Per layer: the fused q/k/v, the output, the fused gate/up and the down projections;
  // then the LM head.
  EXPECT_EQ(calls["linear"], 4 * layers + 1) << profile.dump();
  EXPECT_EQ(calls["paged_attention"], layers) << profile.dump();
  EXPECT_EQ(calls["qkv_cache_write"], layers) << profile.dump();
  EXPECT_EQ(calls["swiglu"], layers) << profile.dump();
  EXPECT_EQ(calls["embedding"], 2) << profile.dump();  // the tokens' rows, then the rows logits are wanted for
  EXPECT_GT(shares, 0.0);
  EXPECT_LE(shares, 1.0 + 1e-9);
  EXPECT_LE(profile["busy_ms"].get<double>(), profile["wall_ms"].get<double>() + 1e-9);
  EXPECT_EQ(profile["launched_within_hold"], true);

  BenchRun denoise({.device = Device::cpu, .shapes = {"tiny:1"}, .measure = kQuick, .op_profile = true}, *device_);
  const nlohmann::json dit = find_suite("e2e-denoise").run(denoise).at(0)["op_profile"];
  ASSERT_FALSE(dit["ops"].empty());
  EXPECT_EQ(dit["ops"].back()["op"], "count_nonfinite") << dit.dump();  // a step ends with its NaN check
  EXPECT_EQ(dit["ops"].back()["calls"], 1);
}

TEST(BenchPeers, BestPeerIsTheFastest) {
  nlohmann::json line = {{"median_ms", 2.0}, {"peers", {{"a", {{"median_ms", 3.0}}}, {"b", {{"median_ms", 1.0}}}}}};
  set_best_peer(line);
  EXPECT_EQ(line["peer"], "b");
  EXPECT_DOUBLE_EQ(line["ratio_vs_peer"].get<double>(), 0.5);
  nlohmann::json alone = {{"median_ms", 2.0}};
  set_best_peer(alone);
  EXPECT_TRUE(alone["peer"].is_null());
}

TEST_F(BenchRunCpu, TorchPeerTimesJoinTheirLines) {
  test::TempDir dir;
  const auto script = dir.path() / "peer.py";
  // A stand-in for bench/peers/torch_peer.py: times the norm case, skips the other.
  std::ofstream(script) << "import json, sys\n"
                           "args = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
                           "with open(args['--out'], 'w') as out:\n"
                           "    for line in open(args['--cases']):\n"
                           "        c = json.loads(line)\n"
                           "        r = {'id': c['id'], 'peer': 'torch', 'median_ms': 1e9} if c['suite'] == 'norm' "
                           "else {'id': c['id'], 'skipped': 'no peer'}\n"
                           "        out.write(json.dumps(r) + '\\n')\n";
  BenchRun run({.device = Device::cpu, .measure = kQuick, .torch_peer = "python3", .torch_peer_script = script.string()},
               *device_);
  std::vector<nlohmann::json> lines = {run.run_case("norm", rmsnorm_case()), run.run_case("other", rmsnorm_case())};
  run.add_torch_peer(lines);
  EXPECT_EQ(lines[0]["peer"], "torch");
  EXPECT_GT(lines[0]["ratio_vs_peer"].get<double>(), 1e3);
  EXPECT_TRUE(lines[1]["peer"].is_null());

  BenchRun failing({.device = Device::cpu, .measure = kQuick, .torch_peer = "python3",
                    .torch_peer_script = (dir.path() / "missing.py").string()},
                   *device_);
  EXPECT_ERROR(failing.add_torch_peer(lines), "the PyTorch peer failed");
}

std::vector<nlohmann::json> sample_lines(double ms) {
  return {{{"suite", "norm"}, {"case", "rmsnorm rows=8"}, {"op", "rmsnorm"}, {"series", "rmsnorm"}, {"dtype", "bf16"},
           {"device", "cuda"}, {"device_name", "GPU"}, {"commit", "abc"}, {"median_ms", ms}, {"p10_ms", ms},
           {"p90_ms", ms}, {"metric", "GB/s"}, {"value", 100.0 / ms}, {"x", 512}, {"fraction_of_peak", 0.5},
           {"peers", {{"torch", {{"median_ms", 2 * ms}}}}}, {"peer", "torch"}, {"ratio_vs_peer", 2.0},
           {"check", {{"ok", false}, {"max_rel_err", 0.5}}}},
          {{"suite", "gemm"}, {"case", "linear m=1"}, {"op", "linear"}, {"dtype", "bf16"}, {"device_name", "GPU"},
           {"median_ms", ms}, {"metric", "TFLOP/s"}, {"value", 3.0}, {"x", 1}}};
}

TEST(BenchReport, TableAndComparison) {
  const auto after = sample_lines(1.0), before = sample_lines(2.0);
  const std::string table = markdown_report(after, nullptr);
  EXPECT_NE(table.find("# genrt bench: GPU (cuda), commit abc"), std::string::npos) << table;
  EXPECT_NE(table.find("## norm"), std::string::npos);
  EXPECT_NE(table.find("## gemm"), std::string::npos);
  EXPECT_NE(table.find("| rmsnorm rows=8 | bf16 | 1 (1–1) | 100 GB/s | 50.0% | torch | 2.00x | **FAILED** (5.0e-01) |"),
            std::string::npos)
      << table;
  const std::string diff = markdown_report(after, &before);
  EXPECT_NE(diff.find("| rmsnorm rows=8 | bf16 | 2 | 1 | -50.0% |"), std::string::npos) << diff;
}

TEST(BenchReport, ReadResultsNamesTheBadLine) {
  test::TempDir dir;
  const auto file = dir.path() / "r.jsonl";
  std::ofstream(file) << sample_lines(1.0)[0].dump() << "\n{\"not\": 1}\n";
  EXPECT_ERROR(read_results(file), "r.jsonl:2: not a genrt bench result line");
  EXPECT_ERROR(read_results(dir.path() / "none.jsonl"), "cannot read");
}

}  // namespace
}  // namespace genrt::bench
