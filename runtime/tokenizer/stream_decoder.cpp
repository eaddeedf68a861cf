#include "runtime/tokenizer/stream_decoder.h"

#include <algorithm>

namespace genrt {

namespace {
constexpr size_t kContext = 4;       // prompt tokens kept as the first window
constexpr size_t kMaxWindow = 1024;
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, std::span<const int32_t> context,
                             std::vector<int32_t> text_specials)
    : tokenizer_(tokenizer), text_specials_(std::move(text_specials)) {
  // One token of context is enough for the decoders genrt reads; keep a few for safety.
  for (int32_t id : context) {
    if (!skipped(id)) ids_.push_back(id);
  }
  ids_.erase(ids_.begin(), ids_.end() - static_cast<std::ptrdiff_t>(std::min<size_t>(ids_.size(), kContext)));
  read_ = ids_.size();
}

bool StreamDecoder::skipped(int32_t token) const {
  return tokenizer_.is_special(token) &&
         std::find(text_specials_.begin(), text_specials_.end(), token) == text_specials_.end();
}

std::optional<std::string> StreamDecoder::new_text() const {
  // The window holds no special token but text_specials, which are to be spelled.
  const std::span<const int32_t> all(ids_);
  const bool spell_specials = !text_specials_.empty();
  const std::string before = tokenizer_.decode(all.subspan(prefix_, read_ - prefix_), !spell_specials);
  std::string after = tokenizer_.decode(all.subspan(prefix_), !spell_specials);
  if (after.size() < before.size() || after.compare(0, before.size(), before) != 0) return std::nullopt;
  return after.substr(before.size());
}

std::string StreamDecoder::push(int32_t token) {
  // Skipped special tokens never reach the decoder, so they stay out of the window too.
  if (skipped(token)) return "";
  ids_.push_back(token);
  const auto text = new_text();
  // The window moves on only once it has produced text, so that it always starts with a
  // token that spells something: a decoder that strips the text's first space then
  // treats the window's start like the middle of the text. The cap is a safety net for
  // pathological runs of tokens that spell nothing.
  const bool settled = text && (!text->empty() || ids_.size() - prefix_ > kMaxWindow);
  if (!settled) return "";
  prefix_ = read_;
  read_ = ids_.size();
  return utf8_.push(*text);
}

std::string StreamDecoder::finish() {
  const auto text = read_ < ids_.size() ? new_text() : std::nullopt;
  std::string out = text ? utf8_.push(*text) : "";
  return out + utf8_.finish();
}

}  // namespace genrt
