#include "runtime/models/named_weights.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/io/weight_store.h"
#include "runtime/memory/device_arena.h"

namespace genrt {

void load_named_weights(const WeightStore& store, const NamedWeights& weights, const std::string& prefix) {
  for (const NamedWeight& w : weights) {
    const Tensor stored = store.get(prefix + w.name, w.shape).to_f32();
    *w.tensor = w.transposed ? stored.transposed_f32() : stored;
  }
}

uint64_t weight_footprint(const NamedWeights& weights, DType dtype) {
  uint64_t bytes = 0;
  for (const NamedWeight& w : weights) bytes += DeviceArena::footprint(w.shape, dtype);
  return bytes;
}

void place_weights(DeviceRuntime& runtime, const NamedWeights& weights, DType dtype, std::string_view model) {
  const auto start = std::chrono::steady_clock::now();
  for (const NamedWeight& w : weights) {
    GENRT_CHECK(w.tensor->defined(), "{}: weight '{}' was never loaded", model, w.name);
    *w.tensor = runtime.upload_weight(*w.tensor, dtype);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t bytes = weight_footprint(weights, dtype);
  spdlog::info("{} weights on the GPU in {}: {} in {:.2f} s ({:.2f} GB/s)", model, dtype_name(dtype),
               format_bytes(bytes), seconds, static_cast<double>(bytes) / 1e9 / std::max(seconds, 1e-9));
}

}  // namespace genrt
