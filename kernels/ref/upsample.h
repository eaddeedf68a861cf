#pragma once
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

// Nearest-neighbour 2x upsampling of NHWC images (the UNet's and VAE's Upsample2D, PyTorch's
// interpolate(scale_factor=2, mode="nearest")): out[b, y, x, c] = in[b, y / 2, x / 2, c],
// out being [batch, 2 height, 2 width, channels].
struct UpsampleShape {
  int64_t batch = 0, height = 0, width = 0, channels = 0;  // of the input
};

// The input index of output element i (flat NHWC).
GENRT_HOST_DEVICE inline int64_t upsample_source(const UpsampleShape& s, int64_t i) {
  const int64_t c = i % s.channels, pixel = i / s.channels;
  const int64_t x = pixel % (2 * s.width), y = pixel / (2 * s.width) % (2 * s.height);
  const int64_t b = pixel / (4 * s.width * s.height);
  return ((b * s.height + y / 2) * s.width + x / 2) * s.channels + c;
}

void upsample_nearest2x(const UpsampleShape& shape, const float* in, float* out);

}  // namespace genrt::ref
