#include "runtime/models/random_weights.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace genrt {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

void fill_uniform(Tensor& out, uint64_t seed, uint64_t tensor_index, float stddev) {
  const int64_t n = out.numel();
  const float half_width = stddev * std::sqrt(3.0f);  // uniform [-a, a] has std a / sqrt(3)
  const uint64_t stream = splitmix64(seed ^ splitmix64(tensor_index));
  constexpr int64_t kChunk = 1 << 16;
#pragma omp parallel for schedule(static)
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t end = std::min(n, begin + kChunk);
    std::vector<float> values(static_cast<size_t>(end - begin));
    for (int64_t i = begin; i < end; ++i) {
      const double u = static_cast<double>(splitmix64(stream + static_cast<uint64_t>(i)) >> 11) * 0x1.0p-53;
      values[i - begin] = static_cast<float>((2.0 * u - 1.0) * half_width);
    }
    char* dst = static_cast<char*>(out.raw()) + begin * static_cast<int64_t>(dtype_size(out.dtype()));
    convert_from_f32(values.data(), dst, out.dtype(), values.size());
  }
}

void fill_ones(Tensor& out) {
  std::vector<float> ones(static_cast<size_t>(out.numel()), 1.0f);
  convert_from_f32(ones.data(), out.raw(), out.dtype(), ones.size());
}

void fill_random_weight(std::string_view name, uint64_t seed, uint64_t index, Tensor& out) {
  if (name.ends_with("norm.weight") || name.ends_with("Norm.weight")) {
    fill_ones(out);
  } else {
    fill_uniform(out, seed, index, 0.02f);
  }
}

}  // namespace genrt
