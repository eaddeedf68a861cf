#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so value i of a stream depends only on (seed, stream, i). The
// CPU reference and CUDA kernels draw the same numbers in any order or thread layout.

#include <cmath>
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

struct Philox4 {
  uint32_t v[4];
};

GENRT_HOST_DEVICE inline Philox4 philox4x32_10(Philox4 counter, uint64_t key) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * counter.v[0];
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * counter.v[2];
    counter = {{static_cast<uint32_t>(p1 >> 32) ^ counter.v[1] ^ k0, static_cast<uint32_t>(p1),
                static_cast<uint32_t>(p0 >> 32) ^ counter.v[3] ^ k1, static_cast<uint32_t>(p0)}};
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return counter;
}

// Standard normal value i of stream `stream` under `seed`. Each Philox block gives four
// uniforms, turned into four normals by two Box-Muller transforms (fp32 sin/cos of an
// fp64-accurate radius, so CPU and GPU agree to a few ulp).
GENRT_HOST_DEVICE inline float philox_normal(uint64_t seed, uint64_t stream, uint64_t i) {
  const uint64_t block = i / 4;
  const Philox4 r = philox4x32_10(
      {{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
        static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)}},
      seed);
  const unsigned pair = static_cast<unsigned>(i % 4) / 2;
  // Uniforms in (0, 1]: log never sees 0.
  const double u1 = (static_cast<double>(r.v[2 * pair]) + 1.0) * 0x1.0p-32;
  const double u2 = static_cast<double>(r.v[2 * pair + 1]) * 0x1.0p-32;
  const float radius = static_cast<float>(sqrt(-2.0 * log(u1)));
  const float angle = static_cast<float>(6.283185307179586 * u2);
  return radius * (i % 2 == 0 ? cosf(angle) : sinf(angle));
}

// out[i] = philox_normal(seed, stream, i) for i < n.
void gaussian_noise(uint64_t seed, uint64_t stream, float* out, int64_t n);

}  // namespace genrt::ref
