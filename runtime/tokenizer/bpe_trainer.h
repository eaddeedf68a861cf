#pragma once
// A small byte-level BPE trainer, for the tokenizers `genrt init-model` writes: words are
// cut by a pre-tokenizer regex, spelled in GPT-2's byte alphabet, and the most frequent
// adjacent pair is merged until the merge budget is spent or no pair repeats.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace genrt {

struct TrainedBpe {
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order; each makes a token
};

// Deterministic: ties between equally frequent pairs go to the smaller pair.
TrainedBpe train_byte_level_bpe(std::string_view text, const std::string& split_pattern, size_t max_merges);

}  // namespace genrt
