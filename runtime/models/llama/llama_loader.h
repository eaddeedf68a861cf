#pragma once
#include <filesystem>

#include "runtime/io/llama2c_checkpoint.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/llama/llama_model.h"

namespace genrt {

// Loads a Llama-family model from a Hugging Face directory or a llama2.c checkpoint.
// On the CPU weights become fp32 tensors: fp32 files are used in place through the memory
// map, fp16/bf16 are converted. On the GPU they are uploaded in device.dtype, onto a
// DeviceRuntime of the model's own.
LlamaModel load_llama_hf(const std::filesystem::path& dir, const DeviceOptions& device = {});
LlamaModel load_llama2c(const std::filesystem::path& file, const DeviceOptions& device = {});
LlamaConfig llama_config_from_llama2c(const Llama2cHeader& header);

}  // namespace genrt
