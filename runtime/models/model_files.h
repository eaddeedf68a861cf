#pragma once
// What a model path on disk is, where its tokenizer lives, and where a pipeline's parts are.

#include <filesystem>

namespace genrt {

enum class ModelFormat {
  hf_directory,  // config.json + model.safetensors (or sharded, with an index)
  llama2c,       // a single llama2.c .bin checkpoint
};

// A directory is a Hugging Face model; a regular file is a llama2.c checkpoint.
// Throws with the path when it does not exist or is neither.
ModelFormat detect_model_format(const std::filesystem::path& model);

// The folder of one part of a diffusers pipeline folder (text_encoder/, unet/, vae/,
// transformer/) when `dir` has it with a config.json, else `dir` itself (the part's own folder).
std::filesystem::path pipeline_part_dir(const std::filesystem::path& dir, const char* part);

}  // namespace genrt
