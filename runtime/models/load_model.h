#pragma once
// Opens a text model from disk, whatever its architecture.

#include <filesystem>
#include <memory>

#include "runtime/models/causal_lm.h"

namespace genrt {

// A Hugging Face directory (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
// GPT2LMHeadModel, OPTForCausalLM) or a llama2.c checkpoint, on `device`.
std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& model, const DeviceOptions& device = {});

// The model's spec from its config or header alone, without reading weights.
ModelSpec read_model_spec(const std::filesystem::path& model);

}  // namespace genrt
