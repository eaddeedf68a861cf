#include "runtime/backend/step_graph.h"

#include <spdlog/spdlog.h>

#include "runtime/core/error.h"

namespace genrt {

void StepGraph::run(DeviceRuntime& runtime, Key key, const std::function<void()>& body, const std::string& what) {
  const uint64_t mark = runtime.workspace_mark();
  key.push_back(mark);
  if (graph_ != nullptr && key == key_) {
    runtime.launch_graph(*graph_);
    runtime.restore_workspace(workspace_end_);
    return;
  }
  graph_.reset();  // another batch or other buffers: its memory goes back before a new capture
  // The first run launches the body, which also makes every GEMM plan and kernel setup that
  // the capture must not; the capture then takes the same buffers from the same mark.
  body();
  if (failed_) return;
  runtime.wait(what.c_str());
  const uint64_t end = runtime.workspace_mark();
  runtime.restore_workspace(mark);
  try {
    auto graph = runtime.capture_graph(body, what);
    GENRT_CHECK(runtime.workspace_mark() == end,
                "{} took other workspace buffers when captured than when launched", what);
    graph_ = std::move(graph);
    key_ = std::move(key);
    workspace_end_ = end;
  } catch (const std::exception& e) {
    spdlog::warn("{} runs without a CUDA graph from now on: {}", what, e.what());
    failed_ = true;
  }
  runtime.restore_workspace(end);  // the launched body's buffers stay handed out
}

}  // namespace genrt
