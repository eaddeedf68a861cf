#include "tools/genrt/png_file.h"

#include <png.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "runtime/core/error.h"

namespace genrt::cli {

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "wb"), std::fclose);
  GENRT_CHECK(file != nullptr, "cannot write {}", path.string());
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  GENRT_CHECK(info != nullptr, "libpng: out of memory writing {}", path.string());
  // libpng reports errors by longjmp; nothing here owns resources across the jump but
  // `file`, which the unique_ptr closes on the error path below.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fail("libpng: error writing {}", path.string());
  }
  png_init_io(png, file.get());
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_bytep> rows(static_cast<size_t>(image.height));
  for (int64_t y = 0; y < image.height; ++y) {
    rows[y] = const_cast<png_bytep>(image.pixels.data() + y * image.width * 3);
  }
  png_set_rows(png, info, rows.data());
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
}

}  // namespace genrt::cli
