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
  auto row = [](const std::string& name, uint64_t weights, uint64_t persistent, uint64_t workspace, uint64_t kv) {
    return fmt::format("\n  {:<18}{:>12}{:>12}{:>12}{:>12}", name, format_bytes(weights), format_bytes(persistent),
                       format_bytes(workspace), format_bytes(kv));
  };
  std::string out = fmt::format("device memory plan ({} budget, {} kept for CUDA libraries):\n  {:<18}{:>12}{:>12}{:>12}{:>12}",
                                format_bytes(budget_bytes), format_bytes(kUnplannedReserveBytes), "", "weights",
                                "persistent", "workspace", "KV cache");
  for (const MemoryRequest& m : models) {
    out += row(m.name, m.weight_bytes, m.persistent_bytes, m.workspace_bytes, m.kv_bytes_per_block > 0 ? kv_bytes : 0);
  }
  if (runtime_workspace_bytes > 0) out += row("GEMM + attention", 0, 0, runtime_workspace_bytes, 0);
  out += row("total", weight_bytes, persistent_bytes, workspace_bytes, kv_bytes);
  out += fmt::format("  = {}", format_bytes(total_bytes()));
  if (models.size() > 1) out += "\n  (models run one step at a time and share the largest step's workspace)";
  if (kv_blocks > 0) out += fmt::format("\n  KV cache: {} blocks, {} tokens", kv_blocks, kv_tokens);
  if (graph_bytes > 0) out += fmt::format("\n  CUDA graphs: {} left free for the driver", format_bytes(graph_bytes));
  if (step_staging_bytes > 0) out += fmt::format("\n  host staging for a step's uploads: {} pinned", format_bytes(step_staging_bytes));
  return out;
}

MemoryPlan plan_device_memory(const DeviceMemoryInfo& device, double fraction, std::span<const MemoryRequest> models,
                              uint64_t runtime_workspace_bytes) {
  GENRT_CHECK(fraction > 0.0 && fraction <= 1.0, "--gpu-memory {} must be a fraction in (0, 1]", fraction);
  GENRT_CHECK(!models.empty(), "memory plan: no model to plan for");
  // The fraction is of the whole device (as in vLLM); what other processes hold already
  // is not ours to take.
  const auto share = static_cast<uint64_t>(std::floor(fraction * static_cast<double>(device.total_bytes)));
  const uint64_t usable = device.free_bytes > kUnplannedReserveBytes ? device.free_bytes - kUnplannedReserveBytes : 0;
  MemoryPlan plan{.budget_bytes = std::min(share, usable),
                  .models = {models.begin(), models.end()},
                  .runtime_workspace_bytes = runtime_workspace_bytes};
  const MemoryRequest* kv_model = nullptr;
  uint64_t largest_step = 0;
  for (const MemoryRequest& m : models) {
    plan.weight_bytes += m.weight_bytes;
    plan.persistent_bytes += m.persistent_bytes;
    largest_step = std::max(largest_step, m.workspace_bytes);
    plan.step_staging_bytes = std::max(plan.step_staging_bytes, m.step_upload_bytes);
    plan.graph_bytes += m.graph_bytes;
    if (m.kv_bytes_per_block == 0) continue;
    GENRT_CHECK(kv_model == nullptr, "memory plan: {} and {} both ask for a KV cache; one device plans one KV pool",
                kv_model->name, m.name);
    GENRT_CHECK(m.block_size > 0 && m.min_blocks > 0, "memory plan: the KV block size must be positive");
    kv_model = &m;
  }
  plan.workspace_bytes = largest_step + runtime_workspace_bytes;
  const uint64_t fixed = plan.weight_bytes + plan.persistent_bytes + plan.workspace_bytes + plan.graph_bytes;
  const uint64_t min_kv = kv_model ? static_cast<uint64_t>(kv_model->min_blocks) * kv_model->kv_bytes_per_block : 0;
  const uint64_t needed = fixed + min_kv;
  GENRT_CHECK(needed <= plan.budget_bytes,
              "{}: {} {} (weights {}{}, workspace {}{}{}), but {} is available ({} free of {}, less {} kept for CUDA "
              "libraries, --gpu-memory {})",
              models.size() == 1 ? "the model does not fit" : fmt::format("the {} models do not fit", models.size()),
              models.size() == 1 ? "it needs" : "they need", format_bytes(needed), format_bytes(plan.weight_bytes),
              plan.persistent_bytes > 0 ? ", persistent buffers " + format_bytes(plan.persistent_bytes) : std::string(),
              format_bytes(plan.workspace_bytes),
              plan.graph_bytes > 0 ? ", CUDA graphs " + format_bytes(plan.graph_bytes) : std::string(),
              kv_model ? ", KV cache for one full context " + format_bytes(min_kv) : std::string(),
              format_bytes(plan.budget_bytes), format_bytes(device.free_bytes), format_bytes(device.total_bytes),
              format_bytes(kUnplannedReserveBytes), fraction);
  if (!kv_model) return plan;
  plan.kv_blocks = static_cast<int64_t>((plan.budget_bytes - fixed) / kv_model->kv_bytes_per_block);
  plan.kv_bytes = static_cast<uint64_t>(plan.kv_blocks) * kv_model->kv_bytes_per_block;
  plan.kv_tokens = plan.kv_blocks * kv_model->block_size;
  return plan;
}

MemoryPlan plan_device_memory(const DeviceMemoryInfo& device, double fraction, const MemoryRequest& model) {
  return plan_device_memory(device, fraction, std::span(&model, 1));
}

}  // namespace genrt
