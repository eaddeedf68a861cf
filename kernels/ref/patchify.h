#pragma once
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

// Images [batch, channels, height, width] cut into non-overlapping patch x patch squares,
// one token per patch in row-major patch order (token = (y / patch) * (width / patch) +
// x / patch). height and width are multiples of patch.
struct PatchShape {
  int64_t batch = 0;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t patch = 0;
};

// tokens[b, token, c * patch^2 + (y % patch) * patch + x % patch] = image[b, c, y, x]:
// the column order of a Conv2d weight [out, channels, patch, patch], so a stride-patch
// convolution becomes one GEMM over the tokens.
void patchify(const float* image, float* tokens, const PatchShape& shape);

// The layouts of a token's row: patchify's Conv2d order (channel, y, x) and DiT's output
// order (y, x, channel).
enum class PatchOrder { channel_first, channel_last };

// Where value `pixel` of the image (flat [b, c, y, x] index) sits in the token array.
GENRT_HOST_DEVICE inline int64_t patch_offset(const PatchShape& s, int64_t pixel, PatchOrder order) {
  const int64_t x = pixel % s.width, y = pixel / s.width % s.height;
  const int64_t c = pixel / (s.width * s.height) % s.channels, b = pixel / (s.width * s.height * s.channels);
  const int64_t tokens_x = s.width / s.patch, tokens = (s.height / s.patch) * tokens_x;
  const int64_t token = b * tokens + (y / s.patch) * tokens_x + x / s.patch;
  const int64_t py = y % s.patch, px = x % s.patch;
  const int64_t column =
      order == PatchOrder::channel_first ? (c * s.patch + py) * s.patch + px : (py * s.patch + px) * s.channels + c;
  return token * s.channels * s.patch * s.patch + column;
}

// image[b, c, y, x] = tokens[b, token, ((y % patch) * patch + x % patch) * channels + c]:
// the (patch, patch, channels) order of DiT's final projection.
void unpatchify(const float* tokens, float* image, const PatchShape& shape);

}  // namespace genrt::ref
