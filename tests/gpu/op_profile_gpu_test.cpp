// The op profile on the GPU: CUDA events around each op on its stream give spans in launch
// order on the device's clock, the ops held back to back behind the profile's stream hold;
// work recorded into a CUDA graph is not timed (its replay is one launch, not an op).
// Skips without a device.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "kernels/stream_hold.cuh"
#include "runtime/backend/device_runtime.h"
#include "runtime/backend/ops.h"
#include "runtime/backend/op_profile.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

TEST(OpProfileGpu, TimesDeviceOpsInLaunchOrderAndNotGraphCaptures) {
  GENRT_REQUIRE_GPU();
  const MemoryRequest request{.name = "op profile test",
                              .persistent_bytes = uint64_t{8} << 20,
                              .graph_bytes = DeviceRuntime::kGraphBytes};
  DeviceRuntime runtime(std::span(&request, 1), 0.5);
  const int64_t rows = 256, dim = 1024;
  auto filled = [&](const Shape& shape, float value) {
    Tensor host = Tensor::zeros(shape, DType::f32);
    for (float& v : host.span<float>()) v = value;
    Tensor device = runtime.persistent(shape, DType::bf16);
    runtime.copy_in(host, device);
    return device;
  };
  const Tensor x = filled({rows, dim}, 0.5f), weight = filled({dim, dim}, 0.01f), norm_weight = filled({dim}, 1.0f);
  Tensor y = filled({rows, dim}, 0.0f), normed = filled({rows, dim}, 0.0f);

  DeviceRuntime::Step step(runtime);
  OpProfile profile(Device::cuda);
  ops::linear(x, weight, Tensor(), y);
  ops::rmsnorm(y, norm_weight, 1e-5f, normed);
  ops::silu(normed, y);
  const auto graph = runtime.capture_graph([&] { ops::linear(x, weight, Tensor(), y); }, "a profiled capture");
  runtime.launch_graph(*graph);
  ops::linear(x, weight, Tensor(), y);

  const std::vector<OpSpan> spans = profile.spans();
  std::vector<std::string> names;
  for (const OpSpan& s : spans) names.push_back(s.op);
  EXPECT_EQ(names, (std::vector<std::string>{"linear", "rmsnorm", "silu", "linear"}));
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans.front().start_ms, 0.0);
  EXPECT_GT(spans.front().end_ms, 0.0);  // a 256x1024x1024 GEMM takes a measurable time
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_LE(spans[i].start_ms, spans[i].end_ms) << spans[i].op << " " << i;
    if (i > 0) EXPECT_LE(spans[i - 1].end_ms, spans[i].start_ms) << spans[i].op << " " << i;
  }
  // Held behind the profile's stream hold, the first three ops ran back to back whatever
  // their host work (the GEMM's plan, three launches); the capture's synchronization came
  // before the fourth, which ran as launched.
  EXPECT_FALSE(profile.launched_within_hold());
  EXPECT_LT(spans[1].start_ms - spans[0].end_ms, 0.05);
  EXPECT_LT(spans[2].start_ms - spans[1].end_ms, 0.05);
}

TEST(OpProfileGpu, TheStreamHoldHoldsTheStream) {
  GENRT_REQUIRE_GPU();
  cudaStream_t stream = nullptr;
  cudaEvent_t before = nullptr, after = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&before), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&after), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(before, stream), cudaSuccess);
  ASSERT_EQ(kernels::launch_stream_hold(2'000'000, stream), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(after, stream), cudaSuccess);
  ASSERT_EQ(cudaEventSynchronize(after), cudaSuccess);
  float ms = 0.0f;
  ASSERT_EQ(cudaEventElapsedTime(&ms, before, after), cudaSuccess);
  EXPECT_GE(ms, 1.9f);
  EXPECT_LT(ms, 50.0f);
  cudaEventDestroy(before);
  cudaEventDestroy(after);
  cudaStreamDestroy(stream);
}

}  // namespace
}  // namespace genrt
