#pragma once
// `genrt init-model --arch sd`: Stable Diffusion pipeline folders in diffusers' layout with
// seeded random weights of a real model's shape, so that text to image and its benchmarks
// run without a download. The weights are noise: so are the images.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"

namespace genrt {

// Preset names: tiny (64x64 images in seconds on a CPU), sd15 (SD 1.5's shapes: 512x512,
// 860M-parameter UNet, CLIP ViT-L/14 text encoder) and sd21 (SD 2.1's: 768x768
// v-prediction, OpenCLIP ViT-H/14 text encoder, linear projections, per-block heads); and
// SDXL's: tiny-xl (a DownBlock2D, two transformer layers, both text encoders, in seconds
// on a CPU) and sdxl (SDXL 1.0 base: 1024x1024, 2.6B-parameter UNet, CLIP ViT-L/14 and
// OpenCLIP ViT-bigG/14 text encoders, an Euler scheduler).
std::vector<std::string> sd_preset_names();

// Writes model_index.json, text_encoder/, tokenizer/ (a byte-level CLIP vocabulary with a
// few end-of-word merges), unet/, vae/ (weights in `dtype`) and scheduler/ (DDIM with SD's
// betas; SDXL: Euler), and for SDXL text_encoder_2/ and tokenizer_2/, into `dir`; returns
// the parameter count.
int64_t write_random_sd(const std::string& preset, uint64_t seed, DType dtype, const std::filesystem::path& dir);

}  // namespace genrt
