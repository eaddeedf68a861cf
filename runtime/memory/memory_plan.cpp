#include "runtime/memory/memory_plan.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "runtime/core/error.h"

namespace genrt {

std::string format_bytes(uint64_t bytes) {
  const auto b = static_cast<double>(bytes);
  if (bytes >= (uint64_t{1} << 30)) return fmt::format("{:.2f} GiB", b / (1 << 30));
  if (bytes >= (uint64_t{1} << 20)) return fmt::format("{:.1f} MiB", b / (1 << 20));
  if (bytes >= (uint64_t{1} << 10)) return fmt::format("{:.1f} KiB", b / (1 << 10));
  return fmt::format("{} B", bytes);
}

std::string MemoryPlan::table() const {
  return fmt::format(
      "device memory plan ({} budget, {} kept for CUDA libraries):\n"
      "  weights    {:>12}\n"
      "  workspace  {:>12}\n"
      "  KV cache   {:>12}  {} blocks, {} tokens\n"
      "  total      {:>12}",
      format_bytes(budget_bytes), format_bytes(kUnplannedReserveBytes), format_bytes(weight_bytes),
      format_bytes(workspace_bytes), format_bytes(kv_bytes),
      kv_blocks, kv_tokens, format_bytes(total_bytes()));
}

MemoryPlan plan_device_memory(const DeviceMemoryInfo& device, double fraction, const MemoryRequest& r) {
  GENRT_CHECK(fraction > 0.0 && fraction <= 1.0, "--gpu-memory {} must be a fraction in (0, 1]", fraction);
  const bool has_kv = r.kv_bytes_per_block > 0;
  GENRT_CHECK(!has_kv || (r.block_size > 0 && r.min_blocks > 0), "memory plan: the KV block size must be positive");
  // The fraction is of the whole device (as in vLLM); what other processes hold already
  // is not ours to take.
  const auto share = static_cast<uint64_t>(std::floor(fraction * static_cast<double>(device.total_bytes)));
  const uint64_t usable = device.free_bytes > kUnplannedReserveBytes ? device.free_bytes - kUnplannedReserveBytes : 0;
  MemoryPlan plan{.budget_bytes = std::min(share, usable),
                  .weight_bytes = r.weight_bytes,
                  .workspace_bytes = r.workspace_bytes};
  const uint64_t fixed = r.weight_bytes + r.workspace_bytes;
  const uint64_t needed = fixed + (has_kv ? static_cast<uint64_t>(r.min_blocks) * r.kv_bytes_per_block : 0);
  GENRT_CHECK(needed <= plan.budget_bytes, "the model does not fit: it needs {} (weights {}, workspace {}{}), but {} is "
              "available ({} free of {}, less {} kept for CUDA libraries, --gpu-memory {})",
              format_bytes(needed), format_bytes(r.weight_bytes), format_bytes(r.workspace_bytes),
              has_kv ? ", KV cache for one full context " + format_bytes(needed - fixed) : std::string(),
              format_bytes(plan.budget_bytes), format_bytes(device.free_bytes), format_bytes(device.total_bytes),
              format_bytes(kUnplannedReserveBytes), fraction);
  if (!has_kv) return plan;
  plan.kv_blocks = static_cast<int64_t>((plan.budget_bytes - fixed) / r.kv_bytes_per_block);
  plan.kv_bytes = static_cast<uint64_t>(plan.kv_blocks) * r.kv_bytes_per_block;
  plan.kv_tokens = plan.kv_blocks * r.block_size;
  return plan;
}

}  // namespace genrt
