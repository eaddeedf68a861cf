// The CLIP text encoder on the GPU against its CPU reference: bf16 and fp16 weights and
// activations, causal attention through the paged attention kernels with one block per
// prompt. Skip without a device.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "runtime/backend/device_runtime.h"
#include "runtime/core/device.h"
#include "runtime/io/json_file.h"
#include "runtime/models/clip/clip_text_model.h"
#include "runtime/models/placement.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::filesystem::path tiny_clip() { return test::data_dir() / "tiny_clip"; }

// One rounding of `dtype` (2^-9 for bf16, 2^-12 for fp16), relative.
double unit_roundoff(DType dtype) { return dtype == DType::bf16 ? 0x1p-9 : 0x1p-12; }

// Three layers of about ten rounded ops each, whose errors add up like a random walk and are
// renormalized by every LayerNorm: 8 roundings of the dtype in relative L2 bounds them with
// room (about 1.6e-2 in bf16, 2e-3 in fp16), while a wrong mask or layout moves the states
// by O(1).
constexpr double kRoundings = 8.0;

Tensor golden_ids(const char* variant) {
  const auto rows = read_json_file(tiny_clip() / "golden.json")
                        .at(variant)
                        .at("encoder")
                        .at("ids")
                        .get<std::vector<std::vector<int32_t>>>();
  Tensor ids = Tensor::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, DType::i32);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy(rows[r].begin(), rows[r].end(), ids.data<int32_t>() + r * rows[r].size());
  }
  return ids;
}

struct GpuCase {
  const char* variant;
  DType dtype;
};

void PrintTo(const GpuCase& c, std::ostream* os) { *os << c.variant << " " << dtype_name(c.dtype); }

class ClipTextGpu : public ::testing::TestWithParam<GpuCase> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

TEST_P(ClipTextGpu, HiddenStatesFollowTheCpuWithoutAllocating) {
  const auto [variant, dtype] = GetParam();
  const Tensor ids = golden_ids(variant);
  const ClipTextModel cpu = load_clip_text_model(tiny_clip() / variant);
  ClipTextWorkspace cpu_ws = cpu.make_workspace(2);
  ClipTextModel gpu = load_clip_text_model(tiny_clip() / variant);
  place_alone(gpu, ClipTextDeviceOptions{.dtype = dtype, .gpu_memory = 0.5, .max_batch = 2});
  DeviceRuntime& runtime = *gpu.device_runtime();
  DeviceRuntime::PersistentScope buffers(runtime);
  ClipTextWorkspace ws = gpu.make_workspace(2);
  for (int64_t clip_skip : {0, 1}) {
    const uint64_t allocations = device_allocation_count(Device::cuda);
    Tensor states;
    {
      DeviceRuntime::Step step(runtime);
      states = runtime.download(gpu.forward(ids, clip_skip, ws)).to_f32();
    }
    EXPECT_EQ(device_allocation_count(Device::cuda), allocations) << "cudaMalloc in a forward";
    const Tensor want = cpu.forward(ids, clip_skip, cpu_ws);
    ASSERT_EQ(states.shape(), want.shape());
    const double err = test::relative_l2(states.data<float>(), want.data<float>(), static_cast<size_t>(want.numel()));
    EXPECT_LE(err, kRoundings * unit_roundoff(dtype)) << variant << " " << dtype_name(dtype) << " clip skip "
                                                      << clip_skip;
    RecordProperty(fmt::format("{}_{}_skip{}_rel_l2", variant, dtype_name(dtype), clip_skip), fmt::format("{:.2e}", err));
  }
}

INSTANTIATE_TEST_SUITE_P(Encoders, ClipTextGpu,
                         ::testing::Values(GpuCase{"sd1", DType::bf16}, GpuCase{"sd1", DType::f16},
                                           GpuCase{"sd2", DType::bf16}, GpuCase{"sd2", DType::f16}),
                         [](const auto& info) {
                           return fmt::format("{}_{}", info.param.variant, dtype_name(info.param.dtype));
                         });

}  // namespace
}  // namespace genrt
