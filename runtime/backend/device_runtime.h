#pragma once
// One per device, owned above the models: the memory plan of every model that shares the
// device (a text model, or a pipeline's text encoder, denoiser and decoder) and its four
// regions (weights, persistent buffers, the per-step workspace, the KV-cache pool), a
// stream and cuBLASLt handle installed as the current CudaContext during each step, and
// host<->device transfers through pinned staging. Models declare what they need
// (MemoryRequest) before it is built and carve their tensors from it afterwards; no step
// allocates device memory: scratch tensors come from the workspace, which each step resets.
//
// In a build without the CUDA backend constructing one is an error.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/memory/device_arena.h"
#include "runtime/memory/memory_plan.h"

namespace genrt {

// Free and total memory of the current CUDA device; throws naming the CUDA error when there
// is no usable device.
DeviceMemoryInfo query_device_memory();

class DeviceRuntime {
 public:
  // Plans `models` within `gpu_memory` of the device and allocates the regions; the plan
  // is logged, and an error before any allocation says what is needed and what is free.
  DeviceRuntime(std::span<const MemoryRequest> models, double gpu_memory);
  ~DeviceRuntime();
  DeviceRuntime(const DeviceRuntime&) = delete;
  DeviceRuntime& operator=(const DeviceRuntime&) = delete;

  const MemoryPlan& plan() const { return plan_; }
  // Throws unless the plan holds `request` (a model placed on this runtime must have been
  // planned, with the same options, when it was built).
  void expect_planned(const MemoryRequest& request) const;

  // A host tensor (f32, f16, bf16 or i32) converted to `dtype` and copied into the weights
  // region, in chunks through pinned staging. Blocks until the copy is done.
  Tensor upload_weight(const Tensor& host, DType dtype);
  // Copies a host tensor into an existing device tensor of the same shape, converting to
  // its dtype like upload_weight. Blocks until the copy is done.
  void copy_in(const Tensor& host, const Tensor& device);

  // Tensors that outlive steps (a denoising loop's latents and activations), from the
  // persistent region; those made while a PersistentScope is open are freed when it closes.
  Tensor persistent(const Shape& shape, DType dtype);

  // Persistent buffers of one piece of work (a denoising run): what is allocated while the
  // scope is the innermost open one is freed when it closes. Scopes nest; they must close
  // in reverse order.
  class PersistentScope {
   public:
    explicit PersistentScope(DeviceRuntime& runtime);
    ~PersistentScope();
    PersistentScope(const PersistentScope&) = delete;
    PersistentScope& operator=(const PersistentScope&) = delete;

   private:
    DeviceRuntime& runtime_;
    size_t depth_;
  };
  DeviceArena& kv_arena() { return *kv_; }

  // One forward step: resets the workspace and makes this runtime's stream and GEMM handle
  // the current CUDA context until the Step is destroyed. Models sharing the runtime run
  // one step at a time: opening a second Step while one is open is an error.
  class Step {
   public:
    explicit Step(DeviceRuntime& runtime);
    ~Step();
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;

   private:
    struct Scope;
    DeviceRuntime& runtime_;
    std::unique_ptr<Scope> scope_;
  };

  // Step-lifetime tensors from the workspace.
  Tensor scratch(const Shape& shape, DType dtype);
  // How far the open step has carved the workspace, and a return to such a mark: the same
  // allocations from the same mark get the same addresses, which is what lets a CUDA graph
  // captured from one step's buffers be replayed in another (restoring the mark where its
  // buffers end keeps later scratch() clear of them).
  uint64_t workspace_mark() const;
  void restore_workspace(uint64_t mark);

  // CUDA graphs of work on this runtime's stream (a decode step of one batch size, a
  // denoiser's step). capture_graph runs `enqueue` with the stream capturing, inside an
  // open Step: what it launches is recorded, not run, so it must not synchronize, allocate
  // device memory or copy from pageable memory. The graph keeps the addresses it was
  // captured with; replays run in stream order. What the driver allocated for it is
  // measured and logged against the plan's graph_bytes, and given back when the last
  // reference to the graph goes.
  class Graph;
  // Device memory a model plans per graph it keeps (the driver's side of a few hundred to
  // a thousand kernel nodes); an estimate awaiting a GPU's measurement, which each capture logs.
  static constexpr uint64_t kGraphBytes = uint64_t{4} << 20;
  std::shared_ptr<const Graph> capture_graph(const std::function<void()>& enqueue, const std::string& what);
  void launch_graph(const Graph& graph);
  // A host tensor copied into the workspace (asynchronously, in stream order), converted
  // from f32 when `dtype` differs from the host's.
  Tensor upload(const Tensor& host);
  Tensor upload(const Tensor& host, DType dtype);
  // The same into `device`, a tensor of the same shape (from scratch()). Unlike copy_in it
  // is asynchronous and goes through the step's staging, so it is for a step's inputs.
  void upload(const Tensor& host, const Tensor& device);
  // The same into the first columns of each row of `device` [rows, >= columns], for a host
  // [rows, columns] tensor of its dtype (a step's block tables into a fixed-width buffer).
  void upload_columns(const Tensor& host, const Tensor& device);
  // A device tensor copied back to a new host f32 tensor; waits for the stream.
  Tensor download_f32(const Tensor& device);

  // Ops on the last step's tensors after it (sampling from a forward's logits): makes this
  // runtime's stream and GEMM handle the current CUDA context like a Step, but keeps the
  // workspace, so the step's tensors stay valid and scratch() and upload() carve more.
  class ContextScope {
   public:
    explicit ContextScope(DeviceRuntime& runtime);
    ~ContextScope();
    ContextScope(const ContextScope&) = delete;
    ContextScope& operator=(const ContextScope&) = delete;

   private:
    struct Scope;
    DeviceRuntime& runtime_;
    std::unique_ptr<Scope> scope_;
  };
  // A device tensor copied back to a new host tensor of its dtype; waits for the stream.
  Tensor download(const Tensor& device);
  // Device tensors (contiguous; undefined ones give undefined results) copied back into
  // one of the runtime's two pinned read-back buffers, in stream order, then one wait on an
  // event for them all: a decode step's only synchronization (its sampled ids and
  // logprobs). read_back_async only enqueues the copies, so the host can queue the next
  // step before it waits; the host tensors view the buffer and stay valid until the
  // read-back after next. A kernel's fault is reported as `what`'s.
  struct ReadBack {
    std::vector<Tensor> host;
    int buffer = 0;
  };
  ReadBack read_back_async(std::span<const Tensor> tensors, const char* what);
  void wait(const ReadBack& read_back, const char* what);
  // Where a step's sampled ids go: a fixed buffer of up to kMaxSampledRows ids outside the
  // workspace, so the next step, whose reset workspace and uploads would overwrite them,
  // can still take them (asynchronous scheduling). One buffer serves every step: on the one
  // stream the next step takes them before its own sampling writes there.
  static constexpr int64_t kMaxSampledRows = 65536;
  Tensor sampled_ids(int64_t rows);
  // Waits for the stream; a kernel's fault is reported as `what`'s.
  void wait(const char* what);
  // Times the host has blocked on the device so far (waits, downloads, read-backs, a step
  // waiting for its previous step's uploads): what a step costs in synchronizations.
  uint64_t host_syncs() const { return host_syncs_; }
  // CUDA graphs captured (a StepGraph may still discard one, and then replays none), and
  // replays launched, so far: what tells that a step ran as a graph (a failed capture falls
  // back to launching, which gives the same bits).
  uint64_t graph_captures() const { return graph_captures_; }
  uint64_t graph_replays() const { return graph_replays_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  MemoryPlan plan_;
  std::unique_ptr<DeviceArena> weights_, persistent_, workspace_, kv_;
  uint64_t workspace_fixed_ = 0;  // the GEMM workspace, for the runtime's lifetime
  std::shared_ptr<std::atomic<uint64_t>> graph_bytes_ = std::make_shared<std::atomic<uint64_t>>(0);  // live graphs
  uint64_t host_syncs_ = 0;
  uint64_t graph_captures_ = 0, graph_replays_ = 0;
  int next_read_back_ = 0;
  Tensor sampled_ids_;
  std::vector<uint64_t> persistent_marks_;  // where each open PersistentScope began
  bool step_open_ = false;
};

// A Step of `runtime`, or none when it is null (the CPU): for code that runs on either
// device, `const auto step = step_on(runtime);` around a group of ops.
std::optional<DeviceRuntime::Step> step_on(DeviceRuntime* runtime);

}  // namespace genrt
