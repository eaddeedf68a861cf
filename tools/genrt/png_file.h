#pragma once
// PNG output for previews, through libpng.

#include <filesystem>

#include "runtime/diffusion/latent_preview.h"

namespace genrt::cli {

void write_png(const std::filesystem::path& path, const RgbImage& image);

}  // namespace genrt::cli
