#include "kernels/ref/conv2d.h"

#include <algorithm>
#include <vector>

#include "kernels/ref/matmul.h"

namespace genrt::ref {

// One output row at a time: its input patches gathered into rows of kernel * kernel *
// in_channels values (the filter's own order), then one product with the filters.
void conv2d(const Conv2dShape& s, const float* in, const float* weight, const float* bias, float* out) {
  const int64_t out_h = s.out_height(), out_w = s.out_width(), patch = s.kernel * s.kernel * s.in_channels;
  std::vector<float> patches(static_cast<size_t>(out_w * patch));
  for (int64_t b = 0; b < s.batch; ++b) {
    const float* image = in + b * s.height * s.width * s.in_channels;
    for (int64_t y = 0; y < out_h; ++y) {
      std::fill(patches.begin(), patches.end(), 0.0f);
      for (int64_t x = 0; x < out_w; ++x) {
        float* row = patches.data() + x * patch;
        for (int64_t ky = 0; ky < s.kernel; ++ky) {
          const int64_t iy = y * s.stride + ky - s.padding;
          if (iy < 0 || iy >= s.height) continue;
          for (int64_t kx = 0; kx < s.kernel; ++kx) {
            const int64_t ix = x * s.stride + kx - s.padding;
            if (ix < 0 || ix >= s.width) continue;
            const float* pixel = image + (iy * s.width + ix) * s.in_channels;
            std::copy(pixel, pixel + s.in_channels, row + (ky * s.kernel + kx) * s.in_channels);
          }
        }
      }
      matmul(patches.data(), weight, bias, out + ((b * out_h + y) * out_w) * s.out_channels, out_w, s.out_channels,
             patch);
    }
  }
}

}  // namespace genrt::ref
