#pragma once
// Sentence embeddings from an encoder's hidden states, pooled as sentence-transformers
// configures them: modules.json lists a Pooling module (its folder's config.json says CLS
// token, mean of the tokens or last token) and maybe a Normalize module (unit length).
// A model folder without modules.json pools by the mean, unnormalized.

#include <filesystem>
#include <string>
#include <vector>

#include "runtime/core/tensor.h"

namespace genrt {

enum class PoolingMode { cls, mean, last };

struct Pooling {
  PoolingMode mode = PoolingMode::mean;
  bool normalize = false;
};

// "cls", "mean" or "last", and back (an unknown name is an error listing these).
const char* pooling_name(PoolingMode mode);
PoolingMode parse_pooling_mode(const std::string& name);

// The pooling of the model folder `dir`; a mode sentence-transformers has and genrt does not
// (max, mean_sqrt_len, weightedmean, several at once) is an error that names it.
Pooling read_pooling(const std::filesystem::path& dir);

// The embedding [hidden] of hidden states [tokens, hidden] (host f32).
std::vector<float> pool(const Tensor& hidden, const Pooling& pooling);

}  // namespace genrt
