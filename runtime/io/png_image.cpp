#include "runtime/io/png_image.h"

#include <png.h>

#include <fstream>

#include "runtime/core/error.h"

namespace genrt {

namespace {

void append_bytes(png_structp png, png_bytep data, png_size_t size) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), size);
}

}  // namespace

std::string encode_png(const RgbImage& image, const PngText& text) {
  GENRT_CHECK(image.width > 0 && image.height > 0 &&
                  std::ssize(image.pixels) == 3 * image.width * image.height,
              "PNG: a {}x{} RGB image needs {} bytes, got {}", image.width, image.height,
              3 * image.width * image.height, image.pixels.size());
  for (const auto& [key, value] : text) {
    GENRT_CHECK(!key.empty() && key.size() <= 79, "PNG: text keyword '{}' must be 1 to 79 characters", key);
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  GENRT_CHECK(info != nullptr, "libpng: out of memory");
  std::string bytes;
  // libpng reports errors by longjmp; nothing here owns resources across the jump but the
  // string, whose destructor the error path below still runs after the jump lands.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fail("libpng: error encoding a {}x{} image", image.width, image.height);
  }
  png_set_write_fn(png, &bytes, append_bytes, nullptr);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_text> chunks(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    chunks[i].compression = PNG_TEXT_COMPRESSION_NONE;
    chunks[i].key = const_cast<char*>(text[i].first.c_str());
    chunks[i].text = const_cast<char*>(text[i].second.c_str());
    chunks[i].text_length = text[i].second.size();
  }
  if (!chunks.empty()) png_set_text(png, info, chunks.data(), static_cast<int>(chunks.size()));
  std::vector<png_bytep> rows(static_cast<size_t>(image.height));
  for (int64_t y = 0; y < image.height; ++y) {
    rows[y] = const_cast<png_bytep>(image.pixels.data() + y * image.width * 3);
  }
  png_set_rows(png, info, rows.data());
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
  return bytes;
}

void write_png(const std::filesystem::path& path, const RgbImage& image, const PngText& text) {
  const std::string bytes = encode_png(image, text);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  GENRT_CHECK(out.good(), "cannot write {}", path.string());
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  GENRT_CHECK(out.good(), "error writing {}", path.string());
}

RgbImage read_png(const std::filesystem::path& path) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_file(&png, path.c_str()) == 0) {
    const std::string why = png.message;
    png_image_free(&png);
    GENRT_CHECK(std::filesystem::exists(path), "{}: no such file", path.string());
    fail("{}: not a readable PNG: {}", path.string(), why);
  }
  // Read as RGBA, then drop alpha: libpng's RGB output would composite alpha onto black.
  png.format = PNG_FORMAT_RGBA;
  std::vector<uint8_t> rgba(PNG_IMAGE_SIZE(png));
  if (png_image_finish_read(&png, nullptr, rgba.data(), 0, nullptr) == 0) {
    const std::string why = png.message;
    png_image_free(&png);
    fail("{}: cannot decode the PNG: {}", path.string(), why);
  }
  RgbImage image{.width = png.width, .height = png.height};
  image.pixels.reserve(static_cast<size_t>(3 * image.width * image.height));
  for (size_t i = 0; i < rgba.size(); i += 4) image.pixels.insert(image.pixels.end(), &rgba[i], &rgba[i + 3]);
  return image;
}

}  // namespace genrt
