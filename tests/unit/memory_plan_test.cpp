// Device memory planning and the arena that carves tensors out of one allocation; both
// are host logic, tested here on the CPU.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "runtime/backend/device_runtime.h"
#include "runtime/core/device.h"
#include "runtime/memory/device_arena.h"
#include "runtime/memory/memory_plan.h"
#include "runtime/models/dit/dit_model.h"
#include "runtime/models/llama/llama_init.h"
#include "runtime/models/load_model.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

constexpr uint64_t GiB = uint64_t{1} << 30, MiB = uint64_t{1} << 20;

TEST(MemoryPlan, KvPoolTakesWhatTheWeightsAndWorkspaceLeave) {
  const DeviceMemoryInfo h100{.free_bytes = 79 * GiB, .total_bytes = 80 * GiB};
  const MemoryPlan plan = plan_device_memory(
      h100, 0.9, {.weight_bytes = 16 * GiB, .workspace_bytes = 512 * MiB, .kv_bytes_per_block = 2 * MiB,
                  .block_size = 16, .min_blocks = 512});
  EXPECT_EQ(plan.budget_bytes, 72 * GiB);  // 0.9 of the device, less than what is free
  EXPECT_EQ(plan.kv_blocks, static_cast<int64_t>((72 * GiB - 16 * GiB - 512 * MiB) / (2 * MiB)));
  EXPECT_EQ(plan.kv_tokens, plan.kv_blocks * 16);
  EXPECT_LE(plan.total_bytes(), plan.budget_bytes);
  EXPECT_NE(plan.table().find("KV cache"), std::string::npos);
  EXPECT_NE(plan.table().find(std::to_string(plan.kv_tokens) + " tokens"), std::string::npos);
}

TEST(MemoryPlan, CudaGraphMemoryIsLeftOutOfTheKvPool) {
  const DeviceMemoryInfo h100{.free_bytes = 79 * GiB, .total_bytes = 80 * GiB};
  const MemoryPlan plan = plan_device_memory(
      h100, 0.9, {.weight_bytes = 16 * GiB, .workspace_bytes = 512 * MiB, .kv_bytes_per_block = 2 * MiB,
                  .block_size = 16, .min_blocks = 512, .graph_bytes = 72 * MiB});
  EXPECT_EQ(plan.graph_bytes, 72 * MiB);
  EXPECT_EQ(plan.kv_blocks, static_cast<int64_t>((72 * GiB - 16 * GiB - 512 * MiB - 72 * MiB) / (2 * MiB)));
  EXPECT_NE(plan.table().find("CUDA graphs: 72.0 MiB left free for the driver"), std::string::npos) << plan.table();
  const DeviceMemoryInfo small{.free_bytes = 7 * GiB, .total_bytes = 8 * GiB};
  EXPECT_ERROR(plan_device_memory(small, 0.9, {.weight_bytes = 6 * GiB, .graph_bytes = 64 * MiB}),
               "(weights 6.00 GiB, workspace 0 B, CUDA graphs 64.0 MiB)");
}

TEST(MemoryPlan, OtherProcessesMemoryIsNotTaken) {
  const DeviceMemoryInfo busy{.free_bytes = 10 * GiB, .total_bytes = 80 * GiB};
  const MemoryPlan plan = plan_device_memory(busy, 0.9, {.weight_bytes = 2 * GiB, .kv_bytes_per_block = MiB});
  EXPECT_EQ(plan.budget_bytes, 10 * GiB - kUnplannedReserveBytes);
}

TEST(MemoryPlan, AllOfTheDeviceStillLeavesTheLibrariesTheirReserve) {
  const DeviceMemoryInfo h200{.free_bytes = 140 * GiB, .total_bytes = 141 * GiB};
  const MemoryPlan plan = plan_device_memory(h200, 1.0, {.weight_bytes = 2 * GiB, .kv_bytes_per_block = MiB});
  EXPECT_EQ(plan.budget_bytes, 140 * GiB - kUnplannedReserveBytes);
  EXPECT_LE(plan.total_bytes(), 139 * GiB);
  EXPECT_NE(plan.table().find("1.00 GiB kept for CUDA libraries"), std::string::npos) << plan.table();
}

TEST(MemoryPlan, TooLargeSaysWhatIsNeededAndWhatIsFree) {
  const DeviceMemoryInfo small{.free_bytes = 7 * GiB, .total_bytes = 8 * GiB};
  EXPECT_ERROR(plan_device_memory(small, 0.9, {.weight_bytes = 15 * GiB, .workspace_bytes = 256 * MiB,
                                               .kv_bytes_per_block = 2 * MiB, .min_blocks = 128}),
               "the model does not fit: it needs 15.50 GiB (weights 15.00 GiB, workspace 256.0 MiB, KV cache for "
               "one full context 256.0 MiB), but 6.00 GiB is available (7.00 GiB free of 8.00 GiB, less 1.00 GiB kept for CUDA "
               "libraries, --gpu-memory 0.9)");
  EXPECT_ERROR(plan_device_memory(small, 1.5, {.kv_bytes_per_block = 1}), "--gpu-memory 1.5 must be a fraction in (0, 1]");
  EXPECT_ERROR(plan_device_memory(small, 0.0, {.kv_bytes_per_block = 1}), "--gpu-memory 0 must be a fraction");
}

TEST(MemoryPlan, WithoutKvCacheTakesOnlyWhatIsAsked) {
  const DeviceMemoryInfo h100{.free_bytes = 79 * GiB, .total_bytes = 80 * GiB};
  const MemoryPlan plan = plan_device_memory(h100, 0.9, {.weight_bytes = GiB, .workspace_bytes = 300 * MiB});
  EXPECT_EQ(plan.kv_blocks, 0);
  EXPECT_EQ(plan.total_bytes(), GiB + 300 * MiB);
  EXPECT_ERROR(plan_device_memory({.free_bytes = GiB, .total_bytes = 8 * GiB}, 0.9,
                                  {.weight_bytes = GiB, .workspace_bytes = 300 * MiB}),
               "the model does not fit: it needs 1.29 GiB (weights 1.00 GiB, workspace 300.0 MiB), but 0 B is "
               "available (1.00 GiB free of 8.00 GiB, less 1.00 GiB kept for CUDA libraries, --gpu-memory 0.9)");
}

// A text model and a DiT on one device, as a text-to-image pipeline holds them: their
// requests (host logic, measured from the code that allocates) planned together.
TEST(MemoryPlan, ModelsSharingADeviceShowTheirSharesInOnePlan) {
  const auto llama = load_causal_lm(test::data_dir() / "tiny_llama");
  const DitModel dit = load_dit(test::data_dir() / "tiny_dit");
  const MemoryRequest requests[] = {
      llama->memory_request({.device = Device::cuda, .dtype = DType::bf16, .max_step_tokens = 256, .max_step_seqs = 8}),
      dit.memory_request({.dtype = DType::bf16, .max_batch = 4})};
  const MemoryRequest& text = requests[0];
  const MemoryRequest& image = requests[1];
  EXPECT_EQ(text.name, "LlamaForCausalLM");
  EXPECT_GT(text.weight_bytes, 0u);
  EXPECT_GT(text.kv_bytes_per_block, 0u);
  EXPECT_EQ(image.kv_bytes_per_block, 0u);
  EXPECT_GT(image.persistent_bytes, 0u);
  // bf16 weights: two bytes a parameter, plus the arena's per-tensor alignment.
  EXPECT_GE(text.weight_bytes, 2u * static_cast<uint64_t>(llama->spec().parameter_count));

  const DeviceMemoryInfo h200{.free_bytes = 140 * GiB, .total_bytes = 141 * GiB};
  const MemoryPlan plan = plan_device_memory(h200, 0.9, requests, 32 * MiB);
  EXPECT_EQ(plan.weight_bytes, text.weight_bytes + image.weight_bytes);
  EXPECT_EQ(plan.persistent_bytes, text.persistent_bytes + image.persistent_bytes);  // the text model's: graph inputs
  EXPECT_EQ(plan.graph_bytes, text.graph_bytes + image.graph_bytes);
  EXPECT_GT(text.graph_bytes, 0u);
  EXPECT_EQ(image.graph_bytes, DeviceRuntime::kGraphBytes);  // the graph of one workspace's forward
  EXPECT_EQ(plan.workspace_bytes, std::max(text.workspace_bytes, image.workspace_bytes) + 32 * MiB);
  EXPECT_EQ(plan.kv_bytes, static_cast<uint64_t>(plan.kv_blocks) * text.kv_bytes_per_block);
  EXPECT_LE(plan.total_bytes(), plan.budget_bytes);
  // The KV pool takes the rest, less what the CUDA graphs need.
  EXPECT_LT(plan.budget_bytes - plan.total_bytes() - plan.graph_bytes, text.kv_bytes_per_block);
  const std::string table = plan.table();
  for (const char* row : {"LlamaForCausalLM", "DiT", "GEMM + attention", "total", "share the largest step's workspace"}) {
    EXPECT_NE(table.find(row), std::string::npos) << row << " missing from\n" << table;
  }
  RecordProperty("table", table);
  std::cout << table << "\n";
}

// Before any weight is read or uploaded: the request already names the limit.
TEST(MemoryPlan, AShapeTheKernelsDoNotTakeIsRefusedAtTheRequest) {
  LlamaConfig c = llama_preset("tiny");
  c.head_dim = 544;
  const LlamaModel model(c, LlamaWeights{});
  EXPECT_ERROR(model.memory_request({.device = Device::cuda}),
               "LlamaForCausalLM on the GPU supports head_dim from 1 to 512, got 544");
}

TEST(MemoryPlan, OneKvPoolPerDevice) {
  const DeviceMemoryInfo h100{.free_bytes = 79 * GiB, .total_bytes = 80 * GiB};
  const MemoryRequest two[] = {{.name = "draft", .weight_bytes = GiB, .kv_bytes_per_block = MiB},
                               {.name = "target", .weight_bytes = GiB, .kv_bytes_per_block = MiB}};
  EXPECT_ERROR(plan_device_memory(h100, 0.9, two), "memory plan: draft and target both ask for a KV cache");
}

TEST(MemoryPlan, ModelsThatDoNotFitTogetherSaySo) {
  const DeviceMemoryInfo small{.free_bytes = 7 * GiB, .total_bytes = 8 * GiB};
  const MemoryRequest two[] = {{.name = "unet", .weight_bytes = 4 * GiB, .persistent_bytes = GiB},
                               {.name = "vae", .weight_bytes = GiB, .workspace_bytes = GiB}};
  EXPECT_ERROR(plan_device_memory(small, 0.9, two),
               "the 2 models do not fit: they need 7.00 GiB (weights 5.00 GiB, persistent buffers 1.00 GiB, "
               "workspace 1.00 GiB), but 6.00 GiB is available");
}

TEST(FormatBytes, PicksTheUnit) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(12 * MiB + MiB / 2), "12.5 MiB");
  EXPECT_EQ(format_bytes(3 * GiB / 2), "1.50 GiB");
}

TEST(DeviceArena, CarvesAlignedTensorsFromOneAllocation) {
  const uint64_t before = device_allocation_count();
  DeviceArena arena("workspace", 4096, Device::cpu);
  const Tensor a = arena.allocate({3}, DType::f32);  // 12 bytes, rounded up to 256
  const Tensor b = arena.allocate({10, 10}, DType::bf16);
  EXPECT_EQ(device_allocation_count() - before, 1u);
  EXPECT_EQ(static_cast<char*>(b.raw()) - static_cast<char*>(a.raw()), 256);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.raw()) % DeviceArena::kAlignment, 0u);
  EXPECT_EQ(arena.used(), 512u);
  EXPECT_EQ(b.dtype(), DType::bf16);
  EXPECT_ERROR(arena.allocate({1024, 1024}, DType::f32),
               "workspace arena: [1024, 1024] f32 (4.0 MiB) does not fit, 3.5 KiB of 4.0 KiB left");
  // A step's scratch is given back by resetting to a mark; the next step reuses the bytes.
  const uint64_t mark = arena.used();
  const Tensor step1 = arena.allocate({16}, DType::f32);
  arena.reset_to(mark);
  EXPECT_EQ(arena.allocate({16}, DType::f32).raw(), step1.raw());
  EXPECT_ERROR(arena.reset_to(4096), "workspace arena: cannot reset to 4096 bytes, 768 are in use");
  // The arena's memory lives as long as a tensor from it does.
  Tensor kept;
  {
    DeviceArena scoped("scratch", 1024, Device::cpu);
    kept = scoped.allocate({4}, DType::f32);
  }
  kept.data<float>()[3] = 1.0f;
  EXPECT_EQ(kept.data<float>()[0], 0.0f);
}

TEST(DeviceArena, NoPoolGivesEveryTensorItsOwnAllocation) {
  ::setenv("GENRT_NO_POOL", "1", 1);
  const uint64_t before = device_allocation_count();
  DeviceArena arena("weights", 4096, Device::cpu);
  (void)arena.allocate({3}, DType::f32);
  (void)arena.allocate({5}, DType::f32);
  ::unsetenv("GENRT_NO_POOL");
  EXPECT_FALSE(arena.pooled());
  EXPECT_EQ(device_allocation_count() - before, 2u);
  EXPECT_EQ(arena.used(), 512u);  // the same accounting, so plans agree with or without pooling
}

}  // namespace
}  // namespace genrt
