// The op profile (runtime/backend/op_profile.h) on the CPU: which ops it records, in what
// order, what it leaves out, and the per-op summary bench/NOTES.md's tables come from.

#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/backend/activation_ops.h"
#include "runtime/backend/image_ops.h"
#include "runtime/backend/linear_ops.h"
#include "runtime/backend/norm_ops.h"
#include "runtime/backend/op_profile.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::vector<std::string> names(const std::vector<OpSpan>& spans) {
  std::vector<std::string> out;
  for (const OpSpan& s : spans) out.push_back(s.op);
  return out;
}

Tensor filled(Shape shape, float value) {
  Tensor t = Tensor::zeros(std::move(shape), DType::f32);
  for (float& v : t.span<float>()) v = value;
  return t;
}

// A linear, an RMSNorm and a SiLU on small host tensors.
void run_three_ops() {
  Tensor x = filled({4, 8}, 0.5f), weight = filled({6, 8}, 0.25f), y = Tensor::zeros({4, 6}, DType::f32);
  ops::linear(x, weight, Tensor(), y);
  Tensor norm_weight = filled({6}, 1.0f), normed = Tensor::zeros({4, 6}, DType::f32);
  ops::rmsnorm(y, norm_weight, 1e-5f, normed);
  ops::silu(normed, y);
}

TEST(OpProfile, RecordsEachOpEntryInCallOrderWithOrderedSpans) {
  OpProfile profile(Device::cpu);
  run_three_ops();
  const std::vector<OpSpan> spans = profile.spans();
  EXPECT_EQ(names(spans), (std::vector<std::string>{"linear", "rmsnorm", "silu"}));
  EXPECT_TRUE(profile.launched_within_hold());  // no hold on the CPU: nothing outlasts it
  EXPECT_EQ(spans.front().start_ms, 0.0);
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_LE(spans[i].start_ms, spans[i].end_ms) << spans[i].op;
    if (i > 0) EXPECT_LE(spans[i - 1].end_ms, spans[i].start_ms) << spans[i].op;
  }
}

TEST(OpProfile, LeavesOutNestedOpsOtherDevicesOtherThreadsAndClosedProfiles) {
  run_three_ops();  // no profile open: nothing to record, nothing to fail
  OpProfile profile(Device::cpu);
  {
    const OpTimer outer("outer", Device::cpu);
    const OpTimer inner("inner", Device::cpu);  // part of outer's time
    const OpTimer elsewhere("on the GPU", Device::cuda);
    EXPECT_ERROR(profile.spans(), "op profile: spans() asked for while an op is running");
  }
  // A 1x1 convolution runs as a linear inside its entry: one conv2d span.
  Tensor x = filled({1, 2, 2, 3}, 0.5f), weight = filled({4, 1, 1, 3}, 0.25f);
  Tensor out = Tensor::zeros({1, 2, 2, 4}, DType::f32);
  ops::conv2d(x, weight, Tensor(), {}, out);
  std::thread other(run_three_ops);
  other.join();
  EXPECT_EQ(names(profile.spans()), (std::vector<std::string>{"outer", "conv2d"}));
  EXPECT_ERROR(OpProfile{Device::cpu}, "an op profile is already open on this thread");
}

TEST(OpProfile, AnOpOpenWhileItsProfileClosesLeavesTheNextProfileAlone) {
  auto first = std::make_unique<OpProfile>(Device::cpu);
  auto op = std::make_unique<OpTimer>("outlives its profile", Device::cpu);
  first.reset();
  OpProfile second(Device::cpu);
  op.reset();  // must not count as the end of an op of `second`
  run_three_ops();
  EXPECT_EQ(names(second.spans()), (std::vector<std::string>{"linear", "rmsnorm", "silu"}));
}

TEST(OpProfile, AProfileCanBeOpenedAgainOnceClosed) {
  { OpProfile first(Device::cpu); }
  OpProfile second(Device::cpu);
  run_three_ops();
  EXPECT_EQ(second.spans().size(), 3u);
}

TEST(OpProfileSummary, SumsPerOpInFirstSeenOrderWithSharesAndIdleTime) {
  const std::vector<OpSpan> spans = {{"a", 0.0, 1.0}, {"b", 1.5, 2.0}, {"a", 2.0, 4.0}};
  const nlohmann::json summary = op_profile_summary(spans);
  EXPECT_DOUBLE_EQ(summary["wall_ms"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(summary["busy_ms"].get<double>(), 3.5);
  EXPECT_DOUBLE_EQ(summary["idle_ms"].get<double>(), 0.5);
  ASSERT_EQ(summary["ops"].size(), 2u);
  const nlohmann::json& a = summary["ops"][0];
  const nlohmann::json& b = summary["ops"][1];
  EXPECT_EQ(a["op"], "a");
  EXPECT_EQ(a["calls"], 2);
  EXPECT_DOUBLE_EQ(a["ms"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(a["share"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(a["idle_before_ms"].get<double>(), 0.0);
  EXPECT_EQ(b["op"], "b");
  EXPECT_EQ(b["calls"], 1);
  EXPECT_DOUBLE_EQ(b["share"].get<double>(), 0.125);
  EXPECT_DOUBLE_EQ(b["idle_before_ms"].get<double>(), 0.5);

  const std::string md = op_profile_markdown(summary);
  EXPECT_NE(md.find("| a | 2 | 3.0000 | 75.0% | 1.5000 | 0.0000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| b | 1 | 0.5000 | 12.5% | 0.5000 | 0.5000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("Wall 4.0000 ms from the first op's start to the last one's end: ops 3.5000 ms, idle 0.5000 ms."),
            std::string::npos) << md;
  EXPECT_EQ(op_profile_summary({})["wall_ms"], 0.0);
}

}  // namespace
}  // namespace genrt
