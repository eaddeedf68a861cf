#include "kernels/ref/patchify.h"

namespace genrt::ref {

namespace {

int64_t pixels(const PatchShape& s) { return s.batch * s.channels * s.height * s.width; }

}  // namespace

void patchify(const float* image, float* tokens, const PatchShape& s) {
  for (int64_t i = 0; i < pixels(s); ++i) tokens[patch_offset(s, i, PatchOrder::channel_first)] = image[i];
}

void unpatchify(const float* tokens, float* image, const PatchShape& s) {
  for (int64_t i = 0; i < pixels(s); ++i) image[i] = tokens[patch_offset(s, i, PatchOrder::channel_last)];
}

}  // namespace genrt::ref
