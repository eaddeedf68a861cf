#pragma once
// 8-bit RGB images as PNG files (through libpng), with text chunks for what made them:
// Stable Diffusion tools write the generation parameters there, where image viewers and
// other tools read them back.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace genrt {

struct RgbImage {
  int64_t width = 0;
  int64_t height = 0;
  std::vector<uint8_t> pixels;  // row-major RGB, 3 bytes per pixel
};

// tEXt chunks: (keyword, text) in Latin-1 as PNG defines them; a keyword is 1 to 79 characters.
using PngText = std::vector<std::pair<std::string, std::string>>;

// The PNG file's bytes.
std::string encode_png(const RgbImage& image, const PngText& text = {});
void write_png(const std::filesystem::path& path, const RgbImage& image, const PngText& text = {});

// Any PNG (gray, palette, 16-bit, with or without alpha) as 8-bit RGB; alpha is dropped,
// as PIL's convert("RGB") does. Errors name the file and libpng's reason.
RgbImage read_png(const std::filesystem::path& path);

}  // namespace genrt
