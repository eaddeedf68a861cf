#pragma once
// Device memory planning at load time. Every model that will share a device declares its
// needs up front; the budget (a fraction of the device, limited by what is free now) is
// cut into four regions: the weights of all models, their persistent buffers (a
// denoising loop's latents), one per-step workspace (models run one step at a time on one
// stream, so they share the largest step's), and a paged KV-cache block pool that takes
// everything left (a plan without a KV cache takes only what is asked); what the driver
// needs for the models' CUDA graphs is left out of the pool. Nothing is allocated after
// the plan, so a decode or denoising step never calls cudaMalloc.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace genrt {

struct DeviceMemoryInfo {
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
};

// What one model (or a pipeline's own loop) asks of the device.
struct MemoryRequest {
  std::string name = "model";       // its row in the start-up table
  uint64_t weight_bytes = 0;
  uint64_t persistent_bytes = 0;    // buffers that outlive steps
  uint64_t workspace_bytes = 0;     // activations of its largest step
  uint64_t kv_bytes_per_block = 0;  // K and V of one block over all layers; 0: no KV pool
  int64_t block_size = 16;          // tokens per block
  int64_t min_blocks = 1;           // at least one full context must fit
  uint64_t step_upload_bytes = 0;   // host bytes its largest step uploads (pinned staging, host memory)
  // Device memory the driver takes for the model's CUDA graphs (their kernel parameters and
  // launch state): planned, so that the KV pool leaves it free, but not allocated by genrt.
  uint64_t graph_bytes = 0;

  bool operator==(const MemoryRequest&) const = default;
};

// Device memory genrt never plans: cuBLASLt's and cuDNN's own workspaces and handles, and
// the kernels CUDA loads lazily on first launch, are allocated outside the plan. Without
// this margin --gpu-memory 1.0 would hand every free byte to the KV pool and the first
// library call would fail.
inline constexpr uint64_t kUnplannedReserveBytes = uint64_t{1} << 30;

struct MemoryPlan {
  uint64_t budget_bytes = 0;  // what genrt may use: the fraction, within free memory less the reserve
  uint64_t weight_bytes = 0;
  uint64_t persistent_bytes = 0;
  uint64_t workspace_bytes = 0;  // the largest model's step, plus the runtime's own
  int64_t kv_blocks = 0;
  uint64_t kv_bytes = 0;
  int64_t kv_tokens = 0;  // kv_blocks * block_size
  uint64_t step_staging_bytes = 0;  // pinned host memory for a step's uploads: the largest model's
  uint64_t graph_bytes = 0;  // left free for the models' CUDA graphs
  std::vector<MemoryRequest> models;  // each model's share, in the order declared
  uint64_t runtime_workspace_bytes = 0;

  uint64_t total_bytes() const { return weight_bytes + persistent_bytes + workspace_bytes + kv_bytes; }
  // The start-up table: each region's size, each model's share of it, and how many tokens
  // the KV pool holds.
  std::string table() const;
};

// The plan for `models` within `fraction` (0, 1] of the device; `runtime_workspace_bytes`
// (the GEMM library's and the split-KV attention's workspaces) joins the shared step workspace. At most one model may
// ask for a KV pool. Errors, before anything is allocated, say how much is needed and how
// much is free.
MemoryPlan plan_device_memory(const DeviceMemoryInfo& device, double fraction, std::span<const MemoryRequest> models,
                              uint64_t runtime_workspace_bytes = 0);
// The plan of a single model.
MemoryPlan plan_device_memory(const DeviceMemoryInfo& device, double fraction, const MemoryRequest& model);

// "1.50 GiB", "12.0 MiB", "512 B".
std::string format_bytes(uint64_t bytes);

}  // namespace genrt
