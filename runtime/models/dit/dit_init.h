#pragma once
// `genrt init-model --arch dit`: DiT pipeline folders with seeded random weights of a real
// model's shape, so that the denoising loop and its benchmarks run without a download.
// The weights are noise (config.json says so): the latents they produce are not images.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/models/dit/dit_config.h"

namespace genrt {

// Preset names: tiny, dit-xl-2-256 (facebook/DiT-XL-2-256: 28 layers, width 1152, 16 heads,
// 2x2 patches of 32x32x4 latents, 1000 ImageNet classes, learned sigma).
std::vector<std::string> dit_preset_names();
DitConfig dit_preset(const std::string& name);

// Writes transformer/config.json, transformer/diffusion_pytorch_model.safetensors (weights
// in `dtype`), scheduler/scheduler_config.json (DiT's DDIM settings) and model_index.json.
void write_random_dit(const DitConfig& config, uint64_t seed, DType dtype,
                      const std::filesystem::path& dir);

}  // namespace genrt
