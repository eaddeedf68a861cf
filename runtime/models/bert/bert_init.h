#pragma once
// BERT encoders with seeded random weights, built in memory: the shapes `genrt bench
// e2e-embed` measures.

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/models/bert/bert_model.h"

namespace genrt {

// "bert-base" (bert-base-uncased's shape) and "bert-tiny" (2 layers of 128, for the CPU);
// an unknown name is an error listing these.
BertConfig bert_preset(const std::string& name);
std::vector<std::string> bert_preset_names();

// A BertModel of `config` with random weights (norm weights ones, the rest uniform noise,
// fill_random_weight), on `device`.
BertModel random_bert_model(const BertConfig& config, uint64_t seed, const DeviceOptions& device);

}  // namespace genrt
