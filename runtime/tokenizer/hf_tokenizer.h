#pragma once
// Hugging Face tokenizer.json (+ tokenizer_config.json): BPE, WordPiece or Unigram with its
// normalizer, pre-tokenizer, decoder and post-processor, and added tokens matched before
// the model ever sees the text. Covers the byte-level family (GPT-2, Llama 3, Qwen2), the
// SentencePiece-style family (Llama 2, TinyLlama, Mistral), BERT's WordPiece and
// SentencePiece Unigram (T5, XLM-R; without the Precompiled normalizer), and
// reproduces the `tokenizers` library's ids for them.

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/tokenizer/subword_model.h"
#include "runtime/tokenizer/decoder.h"
#include "runtime/tokenizer/normalizer.h"
#include "runtime/tokenizer/pre_tokenizer.h"
#include "runtime/tokenizer/tokenizer.h"

namespace genrt {

class HfTokenizer final : public Tokenizer {
 public:
  // `path`: a tokenizer.json, or a directory holding one; tokenizer_config.json beside it
  // is read when present (bos/eos tokens, add_bos_token/add_eos_token, chat_template).
  static HfTokenizer open(const std::filesystem::path& path);
  // `config` may be null. Errors name `where`.
  static HfTokenizer from_json(const nlohmann::json& tokenizer, const nlohmann::json& config,
                               const std::string& where);

  int64_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> bos_id() const override { return bos_; }
  std::optional<int32_t> eos_id() const override { return eos_; }
  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special) const override;
  std::string token_text(int32_t id) const override;
  bool is_special(int32_t id) const override;

  // tokenizer_config.json's chat_template (the "default" one when it lists several).
  const std::optional<std::string>& chat_template() const { return chat_template_; }
  std::optional<int32_t> token_id(std::string_view token) const;

 private:
  struct AddedToken {
    std::string content;
    int32_t id = 0;
    bool special = false;
    bool lstrip = false;  // the match also takes the whitespace before it
    bool rstrip = false;  // ... and after it
    bool single_word = false;
  };
  // A run of input text, or an added token found in it.
  struct Segment {
    std::string_view text;
    const AddedToken* added = nullptr;
  };
  static HfTokenizer parse_json(const nlohmann::json& tokenizer, const nlohmann::json& config, const std::string& where);
  std::vector<Segment> split_added_tokens(std::string_view text) const;
  const AddedToken* added_at(std::string_view text, size_t pos) const;
  void read_post_processor(const nlohmann::json& spec, const std::string& where);
  void read_config(const nlohmann::json& config, const std::string& where);

  SubwordModel model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  Decoder decoder_;
  std::vector<AddedToken> added_;
  std::unordered_map<int32_t, size_t> added_by_id_;
  std::array<std::vector<size_t>, 256> added_by_first_byte_;  // longest first
  std::vector<int32_t> prefix_;  // special tokens put before the text by encode(add_special)
  std::vector<int32_t> suffix_;  // ... and after it
  std::optional<int32_t> bos_, eos_;
  std::optional<std::string> chat_template_;
  int64_t vocab_size_ = 0;
};

}  // namespace genrt
