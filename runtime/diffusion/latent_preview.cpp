#include "runtime/diffusion/latent_preview.h"

#include <algorithm>
#include <cmath>

#include "runtime/core/error.h"

namespace genrt {

namespace {

// RGB contribution of each SD-VAE latent channel: the factors ComfyUI's previewer uses for
// SD 1.x latents. The sum lands roughly in [-1, 1].
constexpr float kLatentRgb[4][3] = {
    {0.3512f, 0.2297f, 0.3227f},
    {0.3250f, 0.4974f, 0.2350f},
    {-0.2829f, 0.1762f, 0.2721f},
    {-0.2120f, -0.2616f, -0.7177f},
};

}  // namespace

RgbImage latent_preview(const Tensor& latents, int64_t upscale) {
  GENRT_CHECK(latents.rank() == 4 && latents.dim(1) == 4,
              "latent preview: expected Stable-Diffusion-style latents [batch, 4, h, w], got {}",
              shape_string(latents.shape()));
  GENRT_CHECK(upscale >= 1, "latent preview: upscale {} must be at least 1", upscale);
  const Tensor x = latents.to_f32();
  const int64_t batch = x.dim(0), h = x.dim(2), w = x.dim(3);
  RgbImage image{.width = batch * w * upscale, .height = h * upscale, .pixels = {}};
  image.pixels.resize(static_cast<size_t>(image.width * image.height * 3));
  const float* data = x.data<float>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t xi = 0; xi < w; ++xi) {
        uint8_t rgb[3];
        for (int c = 0; c < 3; ++c) {
          float v = 0.0f;
          for (int k = 0; k < 4; ++k) v += data[((b * 4 + k) * h + y) * w + xi] * kLatentRgb[k][c];
          // [-1, 1] -> [0, 255]
          rgb[c] = static_cast<uint8_t>(std::lround(std::clamp((v + 1.0f) * 127.5f, 0.0f, 255.0f)));
        }
        for (int64_t dy = 0; dy < upscale; ++dy) {
          for (int64_t dx = 0; dx < upscale; ++dx) {
            const int64_t px = (b * w + xi) * upscale + dx, py = y * upscale + dy;
            std::copy(rgb, rgb + 3, image.pixels.begin() + (py * image.width + px) * 3);
          }
        }
      }
    }
  }
  return image;
}

}  // namespace genrt
