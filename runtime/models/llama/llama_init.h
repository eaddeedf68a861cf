#pragma once
// `genrt init-model`: Llama-shaped model directories with seeded random weights, so that
// generation, benchmarks and memory planning run without downloading anything. The
// weights are noise: such a model writes gibberish, and config.json says so
// (genrt_random_weights), which every command that prints its output repeats.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/models/llama/llama_config.h"
#include "runtime/models/llama/llama_model.h"

namespace genrt {

// Preset names: tiny, stories260k, stories15m, tinyllama-1.1b, llama3-8b.
std::vector<std::string> llama_preset_names();
LlamaConfig llama_preset(const std::string& name);

// Writes config.json, model.safetensors (weights in `dtype`), and a byte-level
// tokenizer.json + tokenizer_config.json (with a Llama 3 chat template) covering the
// preset's vocabulary, into `dir`, created if needed.
void write_random_llama(const LlamaConfig& config, uint64_t seed, DType dtype,
                        const std::filesystem::path& dir);

// The same random weights made in memory and loaded straight onto `device` (no files): for
// benchmarks of model shapes too large to write out. On the GPU they are generated in
// device.dtype on the host and uploaded.
LlamaModel random_llama_model(const LlamaConfig& config, uint64_t seed, const DeviceOptions& device = {});

}  // namespace genrt
