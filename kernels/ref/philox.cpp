#include "kernels/ref/philox.h"

namespace genrt::ref {

void gaussian_noise(uint64_t seed, uint64_t stream, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = philox_normal(seed, stream, static_cast<uint64_t>(i));
}

}  // namespace genrt::ref
