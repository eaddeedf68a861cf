#pragma once
#include <vector>

#include "runtime/models/llama/llama_config.h"

namespace genrt {

// inv_freq[i] = 1 / theta^(2i / head_dim) for i < head_dim / 2, then rescaled as the
// config's rope_scaling says (transformers' _compute_default / _linear / _llama3 rope).
std::vector<float> rope_inv_frequencies(const LlamaConfig& config);

}  // namespace genrt
