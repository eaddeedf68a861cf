#pragma once
// Seeded random weights for `genrt init-model`: a counter-based generator, so element i of
// tensor t depends only on (seed, t, i) and the weights are the same whatever the thread
// count or write order.

#include <cstdint>
#include <string_view>

#include "runtime/core/tensor.h"

namespace genrt {

// Uniform values with standard deviation `stddev`, converted to the tensor's dtype.
void fill_uniform(Tensor& out, uint64_t seed, uint64_t tensor_index, float stddev);
void fill_ones(Tensor& out);

// A transformer's weight by its checkpoint name: norm weights (model.norm.weight,
// ...layernorm.weight, BERT's LayerNorm.weight) ones, every other tensor uniform noise of
// spread 0.02.
void fill_random_weight(std::string_view name, uint64_t seed, uint64_t index, Tensor& out);

}  // namespace genrt
