#pragma once
// What a model path on disk is, and where its tokenizer lives.

#include <filesystem>

namespace genrt {

enum class ModelFormat {
  hf_directory,  // config.json + model.safetensors (or sharded, with an index)
  llama2c,       // a single llama2.c .bin checkpoint
};

// A directory is a Hugging Face model; a regular file is a llama2.c checkpoint.
// Throws with the path when it does not exist or is neither.
ModelFormat detect_model_format(const std::filesystem::path& model);

}  // namespace genrt
