#pragma once
// A quick look at latents without a VAE: Stable Diffusion's 4-channel VAE latents map to
// RGB almost linearly, and preview tools (ComfyUI's latent previewer among them) use a
// fixed 4x3 matrix fitted for that VAE. DiT-XL-2 denoises in the same latent space.

#include <cstdint>

#include "runtime/core/tensor.h"
#include "runtime/io/png_image.h"

namespace genrt {

// latents [batch, 4, h, w] -> one image with the batch side by side, each latent pixel
// drawn as an upscale x upscale block (8 matches the VAE's downsampling).
RgbImage latent_preview(const Tensor& latents, int64_t upscale = 8);

}  // namespace genrt
