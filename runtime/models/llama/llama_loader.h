#pragma once
#include <filesystem>
#include <functional>
#include <string>

#include "runtime/io/llama2c_checkpoint.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/llama/llama_model.h"

namespace genrt {

// Loads a Llama-family model from a Hugging Face directory or a llama2.c checkpoint.
// On the CPU weights become fp32 tensors: fp32 files are used in place through the memory
// map, fp16/bf16 are converted. On the GPU they are uploaded in device.dtype.
LlamaModel load_llama_hf(const std::filesystem::path& dir, const DeviceOptions& device = {});
LlamaModel load_llama2c(const std::filesystem::path& file, const DeviceOptions& device = {});
LlamaConfig llama_config_from_llama2c(const Llama2cHeader& header);

// A tensor of the Hugging Face layout by name and expected shape (fp32 on the host).
using LlamaTensorSource = std::function<Tensor(const std::string& name, const Shape& shape)>;

// The weights of `config` in the Hugging Face layout, each from `get`; lm_head comes from
// `get` unless the embeddings are tied and `lm_head_stored` is false.
LlamaWeights llama_weights_from(const LlamaConfig& config, const LlamaTensorSource& get, bool lm_head_stored);

}  // namespace genrt
