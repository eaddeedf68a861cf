#pragma once
// Tiled VAE decoding as diffusers' AutoencoderKL.tiled_decode does it: the latents cut into
// tiles of the VAE's sample_size (in pixels; 64 latents for SD 1.x), each a quarter
// overlapping the next, decoded one by one, then each tile's first rows and columns
// blended linearly into its upper and left neighbours' last ones (the neighbours as
// already blended) and the tiles cropped to their strides. A tile's activations are all a
// decode needs at once, whatever the image's size.

#include <cstdint>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/models/vae/vae_config.h"

namespace genrt {

struct VaeTiling {
  int64_t tile_latents = 0;  // a tile's side in latents
  int64_t stride = 0;        // latents from one tile to the next
  int64_t blend = 0;         // pixels blended with the neighbour above and to the left
  int64_t keep = 0;          // pixels of each side a tile keeps (its first `keep`)

  static VaeTiling of(const VaeConfig& config);
};

struct LatentTile {
  int64_t y = 0, x = 0;           // in latents
  int64_t height = 0, width = 0;  // up to tile_latents; less at the bottom and right edges
};

// The tiles over height x width latents, row by row.
std::vector<std::vector<LatentTile>> latent_tiles(const VaeTiling& tiling, int64_t height, int64_t width);

// The tile of latents [batch, channels, h, w] at `tile`, as a contiguous host tensor.
Tensor crop_latents(const Tensor& latents, const LatentTile& tile);

// Blends decoded tiles (host f32 [batch, channels, tile pixels...], laid out as
// latent_tiles gave them; blended in place) into image [batch, channels, h * f, w * f].
void blend_tiles(const VaeTiling& tiling, std::vector<std::vector<Tensor>>& tiles, Tensor& image);

}  // namespace genrt
