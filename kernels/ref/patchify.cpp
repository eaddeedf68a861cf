#include "kernels/ref/patchify.h"

namespace genrt::ref {

namespace {

// Calls f(image_index, token_index, y % patch, x % patch, c) for every pixel.
template <class F>
void for_each_pixel(const PatchShape& s, F&& f) {
  const int64_t tokens_x = s.width / s.patch, tokens = (s.height / s.patch) * tokens_x;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t c = 0; c < s.channels; ++c) {
      for (int64_t y = 0; y < s.height; ++y) {
        for (int64_t x = 0; x < s.width; ++x) {
          const int64_t pixel = ((b * s.channels + c) * s.height + y) * s.width + x;
          const int64_t token = b * tokens + (y / s.patch) * tokens_x + x / s.patch;
          f(pixel, token, y % s.patch, x % s.patch, c);
        }
      }
    }
  }
}

}  // namespace

void patchify(const float* image, float* tokens, const PatchShape& s) {
  const int64_t row = s.channels * s.patch * s.patch;
  for_each_pixel(s, [&](int64_t pixel, int64_t token, int64_t py, int64_t px, int64_t c) {
    tokens[token * row + (c * s.patch + py) * s.patch + px] = image[pixel];
  });
}

void unpatchify(const float* tokens, float* image, const PatchShape& s) {
  const int64_t row = s.channels * s.patch * s.patch;
  for_each_pixel(s, [&](int64_t pixel, int64_t token, int64_t py, int64_t px, int64_t c) {
    image[pixel] = tokens[token * row + (py * s.patch + px) * s.channels + c];
  });
}

}  // namespace genrt::ref
