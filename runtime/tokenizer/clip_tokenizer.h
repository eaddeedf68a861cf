#pragma once
// CLIP's tokenizer as Stable Diffusion pipelines use it: transformers' CLIPTokenizer over a
// diffusers tokenizer/ folder, called the way StableDiffusionPipeline.encode_prompt calls it.
// Byte-level BPE whose word ends carry "</w>", over text that is NFC-normalized, has its
// whitespace runs collapsed to one space and is lower-cased, then cut by CLIP's regex; the
// special tokens (BOS, EOS, unknown, pad) are matched whole in the prompt. Every prompt
// becomes exactly model_max_length ids (77): BOS, its tokens, EOS, then the pad token
// (SD 1.x pads with <|endoftext|>, SD 2.x with "!"), since every position feeds the
// denoiser's cross-attention; a longer prompt loses its last tokens, never the EOS.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/hf_tokenizer.h"

namespace genrt {

struct ClipTokens {
  std::vector<int32_t> ids;  // [max_length]: BOS, the prompt's tokens, EOS, pad tokens
  bool truncated = false;    // the prompt had more tokens than fit: the last ones are dropped
};

class ClipTokenizer {
 public:
  // `dir`: a tokenizer/ folder holding vocab.json and merges.txt, or a tokenizer.json
  // (whose vocabulary, merges and added tokens are read first, as transformers does), with
  // tokenizer_config.json (model_max_length and the special tokens) and, optionally,
  // special_tokens_map.json (whose special tokens take precedence, as in transformers'
  // legacy loading). Errors name the file at fault.
  static ClipTokenizer open(const std::filesystem::path& dir);

  // The ids the text encoder gets for `prompt`; a truncated prompt is logged as a warning
  // naming the text that was dropped.
  ClipTokens encode(std::string_view prompt) const;

  int64_t max_length() const { return max_length_; }
  int64_t vocab_size() const { return tokenizer_.vocab_size(); }
  int32_t bos_id() const { return bos_; }
  int32_t eos_id() const { return eos_; }
  int32_t pad_id() const { return pad_; }

 private:
  ClipTokenizer(HfTokenizer tokenizer, int64_t max_length, int32_t bos, int32_t eos, int32_t pad);
  static ClipTokenizer parse(const std::filesystem::path& dir);
  // The text of `ids` as transformers' CLIPTokenizer decodes it: word ends as spaces.
  std::string text_of(std::span<const int32_t> ids) const;

  HfTokenizer tokenizer_;
  int64_t max_length_ = 0;
  int32_t bos_ = 0, eos_ = 0, pad_ = 0;
};

}  // namespace genrt
