#include "runtime/models/vae/vae_tiling.h"

#include <algorithm>

#include "runtime/core/error.h"

namespace genrt {

namespace {

// [batch, channels, h, w] tensors are planes of h x w values, one per (image, channel).
int64_t planes(const Tensor& t) { return t.dim(0) * t.dim(1); }

// b's first rows (or columns: `along_width`) = a's last ones fading out as b's fade in,
// over up to `extent` of them (diffusers' blend_v and blend_h).
void blend_edge(const Tensor& a, Tensor& b, int64_t extent, bool along_width) {
  const int axis = along_width ? 3 : 2;
  extent = std::min({a.dim(axis), b.dim(axis), extent});
  const int64_t ah = a.dim(2), aw = a.dim(3), bh = b.dim(2), bw = b.dim(3);
  const float* from = a.data<float>();
  float* to = b.data<float>();
  for (int64_t p = 0; p < planes(b); ++p) {
    const float* pa = from + p * ah * aw;
    float* pb = to + p * bh * bw;
    for (int64_t k = 0; k < extent; ++k) {
      const float weight = static_cast<float>(k) / static_cast<float>(extent);
      // Row (or column) k of b, and extent - k from the end of a.
      const int64_t lines = along_width ? bh : bw;
      for (int64_t i = 0; i < lines; ++i) {
        const int64_t ia = along_width ? i * aw + (aw - extent + k) : (ah - extent + k) * aw + i;
        const int64_t ib = along_width ? i * bw + k : k * bw + i;
        pb[ib] = pa[ia] * (1.0f - weight) + pb[ib] * weight;
      }
    }
  }
}

}  // namespace

VaeTiling VaeTiling::of(const VaeConfig& c) {
  // diffusers: tile_sample_min_size = sample_size, tile_latent_min_size = sample_size / f,
  // overlap factor 0.25, each rounded down.
  VaeTiling t;
  t.tile_latents = c.sample_size / c.scale_factor();
  t.stride = static_cast<int64_t>(static_cast<double>(t.tile_latents) * 0.75);
  t.blend = static_cast<int64_t>(static_cast<double>(c.sample_size) * 0.25);
  t.keep = c.sample_size - t.blend;
  GENRT_CHECK(t.tile_latents >= 2 && t.stride >= 1,
              "VAE tiling: sample_size {} gives tiles of {} latents, too small to tile", c.sample_size,
              t.tile_latents);
  return t;
}

std::vector<std::vector<LatentTile>> latent_tiles(const VaeTiling& t, int64_t height, int64_t width) {
  std::vector<std::vector<LatentTile>> rows;
  for (int64_t y = 0; y < height; y += t.stride) {
    auto& row = rows.emplace_back();
    for (int64_t x = 0; x < width; x += t.stride) {
      row.push_back({.y = y,
                     .x = x,
                     .height = std::min(t.tile_latents, height - y),
                     .width = std::min(t.tile_latents, width - x)});
    }
  }
  return rows;
}

Tensor crop_latents(const Tensor& latents, const LatentTile& tile) {
  const int64_t h = latents.dim(2), w = latents.dim(3);
  Tensor out = Tensor::zeros({latents.dim(0), latents.dim(1), tile.height, tile.width}, DType::f32);
  const float* from = latents.data<float>();
  float* to = out.data<float>();
  for (int64_t p = 0; p < planes(latents); ++p) {
    for (int64_t y = 0; y < tile.height; ++y) {
      const float* row = from + (p * h + tile.y + y) * w + tile.x;
      std::copy(row, row + tile.width, to + (p * tile.height + y) * tile.width);
    }
  }
  return out;
}

void blend_tiles(const VaeTiling& t, std::vector<std::vector<Tensor>>& tiles, Tensor& image) {
  const int64_t h = image.dim(2), w = image.dim(3);
  float* to = image.data<float>();
  int64_t top = 0;
  for (size_t i = 0; i < tiles.size(); ++i) {
    int64_t left = 0, kept_rows = 0;
    for (size_t j = 0; j < tiles[i].size(); ++j) {
      Tensor& tile = tiles[i][j];
      if (i > 0) blend_edge(tiles[i - 1][j], tile, t.blend, false);
      if (j > 0) blend_edge(tiles[i][j - 1], tile, t.blend, true);
      const int64_t th = tile.dim(2), tw = tile.dim(3);
      const int64_t rows = std::min(th, t.keep), cols = std::min(tw, t.keep);
      GENRT_CHECK(top + rows <= h && left + cols <= w, "VAE tiling: tile ({}, {}) falls outside the {}x{} image", i, j,
                  h, w);
      for (int64_t p = 0; p < planes(image); ++p) {
        for (int64_t y = 0; y < rows; ++y) {
          const float* row = tile.data<float>() + (p * th + y) * tw;
          std::copy(row, row + cols, to + (p * h + top + y) * w + left);
        }
      }
      left += cols;
      kept_rows = rows;
    }
    GENRT_CHECK(left == w, "VAE tiling: row {} of tiles covers {} of {} columns", i, left, w);
    top += kept_rows;
  }
  GENRT_CHECK(top == h, "VAE tiling: the tiles cover {} of {} rows", top, h);
}

}  // namespace genrt
