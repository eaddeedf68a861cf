#include "runtime/tokenizer/bpe_trainer.h"

#include <map>

#include "runtime/core/utf8.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/regex.h"

namespace genrt {

TrainedBpe train_byte_level_bpe(std::string_view text, const std::string& split_pattern, size_t max_merges) {
  // Each distinct word as its sequence of byte-alphabet symbols, with its count.
  std::map<std::vector<std::string>, int64_t> words;
  const Regex split(split_pattern, "bpe trainer");
  for (const auto& [begin, end] : split.find_all(text)) {
    std::vector<std::string> symbols;
    for (char c : text.substr(begin, end - begin)) symbols.push_back(byte_to_unicode(static_cast<unsigned char>(c)));
    ++words[symbols];
  }

  TrainedBpe trained;
  while (trained.merges.size() < max_merges) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const auto& [symbols, count] : words) {
      for (size_t i = 0; i + 1 < symbols.size(); ++i) pairs[{symbols[i], symbols[i + 1]}] += count;
    }
    const std::pair<std::string, std::string>* best = nullptr;
    int64_t best_count = 1;  // a pair seen once teaches nothing
    for (const auto& [pair, count] : pairs) {  // ascending order: the first maximum is the smallest pair
      if (count > best_count) {
        best = &pair;
        best_count = count;
      }
    }
    if (best == nullptr) break;
    const auto merge = *best;
    trained.merges.push_back(merge);
    std::map<std::vector<std::string>, int64_t> merged_words;
    for (const auto& [symbols, count] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == merge.first && symbols[i + 1] == merge.second) {
          out.push_back(merge.first + merge.second);
          ++i;
        } else {
          out.push_back(symbols[i]);
        }
      }
      merged_words[out] += count;
    }
    words = std::move(merged_words);
  }
  return trained;
}

}  // namespace genrt
