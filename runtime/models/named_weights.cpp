#include "runtime/models/named_weights.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/io/weight_store.h"
#include "runtime/memory/device_arena.h"

namespace genrt {

Shape NamedWeight::tensor_shape() const {
  Shape whole = shape;
  if (fused_rows > 0) whole[0] = fused_rows;
  return whole;
}

Tensor NamedWeight::rows_of(const Tensor& whole) const {
  return fused_rows > 0 ? whole.slice(first_row, first_row + shape[0]) : whole;
}

void name_fused_rows(NamedWeights& list, const std::vector<FusedPart>& parts, const Shape& row_shape,
                     Tensor* tensor) {
  int64_t total = 0;
  for (const FusedPart& part : parts) total += part.rows;
  int64_t first = 0;
  for (const FusedPart& part : parts) {
    Shape shape{part.rows};
    shape.insert(shape.end(), row_shape.begin(), row_shape.end());
    list.push_back({.name = part.name, .shape = shape, .tensor = tensor, .fused_rows = total, .first_row = first});
    first += part.rows;
  }
}

namespace {

// [out, in, kh, kw] -> [out, kh, kw, in], as f32 on the host.
Tensor channels_last_filter(const Tensor& stored) {
  const int64_t out = stored.dim(0), in = stored.dim(1), taps = stored.dim(2) * stored.dim(3);
  Tensor filter = Tensor::zeros({out, stored.dim(2), stored.dim(3), in}, DType::f32);
  const float* from = stored.data<float>();
  float* to = filter.data<float>();
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) {
      for (int64_t t = 0; t < taps; ++t) to[(o * taps + t) * in + i] = from[(o * in + i) * taps + t];
    }
  }
  return filter;
}

}  // namespace

Shape NamedWeight::kept_shape() const {
  const Shape whole = tensor_shape();
  if (transposed) return {whole[1], whole[0]};
  if (channels_first) return {whole[0], whole[2], whole[3], whole[1]};
  return whole;
}

void load_named_weights(const WeightStore& store, const NamedWeights& weights, const std::string& prefix) {
  for (const NamedWeight& w : weights) {
    const Tensor stored = store.get(prefix + w.name, w.shape).to_f32();
    if (w.fused_rows == 0) {
      *w.tensor = w.transposed ? stored.transposed_f32() : w.channels_first ? channels_last_filter(stored) : stored;
      continue;
    }
    GENRT_CHECK(!w.transposed && !w.channels_first, "{}: a transposed checkpoint tensor cannot be a fused part",
                w.name);
    if (w.owns_tensor()) *w.tensor = Tensor::zeros(w.tensor_shape(), DType::f32);
    const Tensor rows = w.rows_of(*w.tensor);
    std::copy_n(stored.data<float>(), stored.numel(), rows.data<float>());
  }
}

int64_t parameter_count(const NamedWeights& weights) {
  int64_t parameters = 0;
  for (const NamedWeight& w : weights) parameters += shape_numel(w.shape);
  return parameters;
}

uint64_t weight_footprint(const NamedWeights& weights, DType dtype) {
  uint64_t bytes = 0;
  for (const NamedWeight& w : weights) {
    if (w.owns_tensor()) bytes += DeviceArena::footprint(w.kept_shape(), dtype);
  }
  return bytes;
}

void place_weights(DeviceRuntime& runtime, const NamedWeights& weights, DType dtype, std::string_view model) {
  const auto start = std::chrono::steady_clock::now();
  for (const NamedWeight& w : weights) {
    GENRT_CHECK(w.tensor->defined(), "{}: weight '{}' was never loaded", model, w.name);
    if (w.owns_tensor()) *w.tensor = runtime.upload_weight(*w.tensor, dtype);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t bytes = weight_footprint(weights, dtype);
  spdlog::info("{} weights on the GPU in {}: {} in {:.2f} s ({:.2f} GB/s)", model, dtype_name(dtype),
               format_bytes(bytes), seconds, static_cast<double>(bytes) / 1e9 / std::max(seconds, 1e-9));
}

}  // namespace genrt
