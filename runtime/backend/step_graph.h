#pragma once
// A step of fixed shape replayed as a CUDA graph: a denoiser's forward over the buffers of
// one run. Its first run for a key launches the body's kernels, waits for them (so that a
// fault is the step's own), then captures the body; later runs with the same key replay
// the capture. The key holds what the graph bakes in and the caller may change between
// runs: the batch, the addresses of the buffers it reads and writes.
//
// The body must read its per-step inputs from device buffers that the caller writes, in
// stream order, before each run(), write only to fixed buffers, and allocate nothing
// (not even the runtime's workspace: the capture checks). A capture that fails is logged
// and the step launches the body's kernels from then on.

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

  // Runs `body` inside an open step of `runtime`: replayed, or launched and captured.
  void run(DeviceRuntime& runtime, const Key& key, const std::function<void()>& body, const std::string& what);
  bool captured() const { return graph_ != nullptr; }

 private:
  Key key_;
  std::shared_ptr<const DeviceRuntime::Graph> graph_;
  bool failed_ = false;
};

}  // namespace genrt
