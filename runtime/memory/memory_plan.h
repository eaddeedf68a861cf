#pragma once
// Device memory planning at load time: the budget (a fraction of the device, limited by
// what is free now) is cut into the weights, the activation workspace of the largest
// step, and a paged KV-cache block pool that takes everything left (models without a KV
// cache take only what they ask for). Nothing is allocated after the plan, so a decode or
// denoising step never calls cudaMalloc.

#include <cstdint>
#include <string>

namespace genrt {

struct DeviceMemoryInfo {
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
};

struct MemoryRequest {
  uint64_t weight_bytes = 0;
  uint64_t workspace_bytes = 0;     // activations of the largest step, GEMM workspace
  uint64_t kv_bytes_per_block = 0;  // K and V of one block over all layers; 0: no KV pool (a DiT)
  int64_t block_size = 16;          // tokens per block
  int64_t min_blocks = 1;           // at least one full context must fit
};

// Device memory genrt never plans: cuBLASLt's and cuDNN's own workspaces and handles, and
// the kernels CUDA loads lazily on first launch, are allocated outside the plan. Without
// this margin --gpu-memory 1.0 would hand every free byte to the KV pool and the first
// library call would fail.
inline constexpr uint64_t kUnplannedReserveBytes = uint64_t{1} << 30;

struct MemoryPlan {
  uint64_t budget_bytes = 0;  // what genrt may use: the fraction, within free memory less the reserve
  uint64_t weight_bytes = 0;
  uint64_t workspace_bytes = 0;
  int64_t kv_blocks = 0;
  uint64_t kv_bytes = 0;
  int64_t kv_tokens = 0;  // kv_blocks * block_size

  uint64_t total_bytes() const { return weight_bytes + workspace_bytes + kv_bytes; }
  // The start-up table: each region's size, and how many tokens the KV pool holds.
  std::string table() const;
};

// The plan for `request` within `fraction` (0, 1] of the device. Errors, before anything is
// allocated, say how much is needed and how much is free.
MemoryPlan plan_device_memory(const DeviceMemoryInfo& device, double fraction, const MemoryRequest& request);

// "1.50 GiB", "12.0 MiB", "512 B".
std::string format_bytes(uint64_t bytes);

}  // namespace genrt
