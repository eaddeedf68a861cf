#pragma once
// A step of fixed shape replayed as a CUDA graph: a decoder's decode step of one batch
// bucket, a denoiser's forward over the buffers of one run. Its first run for a key
// launches the body's kernels, waits for them (so that a fault is the step's own), then
// captures the body from the same workspace mark; later runs with the same key replay the
// capture. The key holds what the graph bakes in and the caller may change between runs:
// the batch, the addresses of the buffers it reads and writes. The workspace mark the body
// starts from joins the key, since the body's workspace buffers are baked in too.
//
// The body must read its per-step inputs from device buffers that the caller writes, in
// stream order, before each run(), and may take buffers from the runtime's workspace, the
// same ones each time (the capture checks). No state may stay in those buffers from one
// step to the next: a replay leaves the workspace past them, as the launched body did, so
// that what the step allocates afterwards does not overlap them, and the next step hands
// them out again. A capture that fails is logged and the step launches the body's kernels
// from then on.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/backend/device_runtime.h"

namespace genrt {

class StepGraph {
 public:
  using Key = std::vector<uintptr_t>;

  // Runs `body` inside an open step of `runtime`: replayed, or launched and captured (the
  // body then runs twice, the second time recorded, not run).
  void run(DeviceRuntime& runtime, Key key, const std::function<void()>& body, const std::string& what);
  bool captured() const { return graph_ != nullptr; }
  bool failed() const { return failed_; }

 private:
  Key key_;
  uint64_t workspace_end_ = 0;  // the workspace mark past the graph's buffers
  std::shared_ptr<const DeviceRuntime::Graph> graph_;
  bool failed_ = false;
};

}  // namespace genrt
