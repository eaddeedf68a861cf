#pragma once
// NumPy .npy files (format versions 1-3): the exchange format for latents and noise, so
// that genrt's inputs and outputs can be compared with any Python implementation.

#include <filesystem>

#include "runtime/core/tensor.h"

namespace genrt {

// Reads a C-ordered little-endian float32, float64 or float16 array as an fp32 tensor.
// Errors name the file and what is wrong with it.
Tensor read_npy(const std::filesystem::path& path);

// Writes a contiguous fp32 CPU tensor as a version 1.0 float32 .npy file.
void write_npy(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace genrt
