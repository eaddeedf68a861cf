#pragma once
// A model alone on a device: a DeviceRuntime of its own, planned for just this model.
// Several models share one device by planning their requests together instead:
//   const MemoryRequest requests[] = {a.memory_request(oa), b.memory_request(ob)};
//   auto runtime = std::make_shared<DeviceRuntime>(requests, gpu_memory);
//   a.place_on(runtime, oa);
//   b.place_on(runtime, ob);

#include <memory>
#include <span>

#include "runtime/backend/device_runtime.h"

namespace genrt {

// Model: memory_request(options) and place_on(runtime, options), as CausalLM and DitModel
// have; Options: the model's device options, with gpu_memory.
template <class Model, class Options>
void place_alone(Model& model, const Options& options) {
  const MemoryRequest request = model.memory_request(options);
  model.place_on(std::make_shared<DeviceRuntime>(std::span(&request, 1), options.gpu_memory), options);
}

}  // namespace genrt
