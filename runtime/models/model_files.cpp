#include "runtime/models/model_files.h"

#include "runtime/core/error.h"

namespace genrt {

ModelFormat detect_model_format(const std::filesystem::path& model) {
  std::error_code ec;
  const auto status = std::filesystem::status(model, ec);
  GENRT_CHECK(std::filesystem::exists(status), "model path {} does not exist", model.string());
  if (std::filesystem::is_directory(status)) {
    GENRT_CHECK(std::filesystem::exists(model / "config.json"),
                "{} is a directory without config.json: expected a Hugging Face model directory",
                model.string());
    return ModelFormat::hf_directory;
  }
  GENRT_CHECK(std::filesystem::is_regular_file(status),
              "model path {} is neither a directory nor a file", model.string());
  return ModelFormat::llama2c;
}

std::filesystem::path pipeline_part_dir(const std::filesystem::path& dir, const char* part) {
  const auto sub = dir / part;
  return std::filesystem::exists(sub / "config.json") ? sub : dir;
}

}  // namespace genrt
