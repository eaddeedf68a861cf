#pragma once
// The tokenizer.json and tokenizer_config.json that `genrt init-model` writes: a
// byte-level BPE in Llama 3's style (its pre-split regex, BOS from a post-processor,
// chat special tokens), merges learned from a built-in English text, and made-up words
// filling the rest of the model's vocabulary.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace genrt {

struct ChatTokenizerSpec {
  int64_t vocab_size = 0;
  // The special tokens, at ids 0.. in this order; the first is BOS, the second EOS.
  std::vector<std::string> specials = {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                                       "<|end_header_id|>", "<|eot_id|>"};
};

// Llama 3's pre-tokenizer split regex.
extern const char* const kLlama3SplitPattern;
// The Llama 3 Instruct chat template (Jinja), as its tokenizer_config.json ships it.
extern const char* const kLlama3ChatTemplate;

// Writes dir/tokenizer.json and dir/tokenizer_config.json. Throws if vocab_size cannot
// hold the special and byte tokens.
void write_chat_tokenizer(const ChatTokenizerSpec& spec, const std::filesystem::path& dir);

}  // namespace genrt
