#include "runtime/backend/step_graph.h"

#include <spdlog/spdlog.h>

#include "runtime/core/error.h"

namespace genrt {

void StepGraph::run(DeviceRuntime& runtime, const Key& key, const std::function<void()>& body,
                    const std::string& what) {
  if (graph_ != nullptr && key == key_) {
    runtime.launch_graph(*graph_);
    return;
  }
  graph_.reset();  // another batch or other buffers: its memory goes back before a new capture
  body();
  if (failed_) return;
  runtime.wait(what.c_str());
  const uint64_t mark = runtime.workspace_mark();
  try {
    auto graph = runtime.capture_graph(body, what);
    GENRT_CHECK(runtime.workspace_mark() == mark,
                "{} took workspace buffers, which the next step would hand out again while the graph still uses them",
                what);
    graph_ = std::move(graph);
    key_ = key;
  } catch (const std::exception& e) {
    spdlog::warn("{} runs without a CUDA graph from now on: {}", what, e.what());
    failed_ = true;
  }
}

}  // namespace genrt
