#pragma once
#include <cstdint>

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

// image[b, c, y, x] = tokens[b, token, ((y % patch) * patch + x % patch) * channels + c]:
// the (patch, patch, channels) order of DiT's final projection.
void unpatchify(const float* tokens, float* image, const PatchShape& shape);

}  // namespace genrt::ref
