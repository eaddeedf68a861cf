#include "runtime/tokenizer/stream_decoder.h"

namespace genrt {

namespace {
constexpr size_t kContext = 4;       // prompt tokens kept as the first window
constexpr size_t kMaxWindow = 1024;
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, std::span<const int32_t> context, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {
  // One token of context is enough for the decoders genrt reads; keep a few for safety.
  for (int32_t id : context) {
    if (!(skip_special_ && tokenizer_.is_special(id))) ids_.push_back(id);
  }
  ids_.erase(ids_.begin(), ids_.end() - static_cast<std::ptrdiff_t>(std::min<size_t>(ids_.size(), kContext)));
  read_ = ids_.size();
}

std::optional<std::string> StreamDecoder::new_text() const {
  const std::span<const int32_t> all(ids_);
  const std::string before = tokenizer_.decode(all.subspan(prefix_, read_ - prefix_), skip_special_);
  std::string after = tokenizer_.decode(all.subspan(prefix_), skip_special_);
  if (after.size() < before.size() || after.compare(0, before.size(), before) != 0) return std::nullopt;
  return after.substr(before.size());
}

std::string StreamDecoder::push(int32_t token) {
  // Skipped special tokens never reach the decoder, so they stay out of the window too.
  if (skip_special_ && tokenizer_.is_special(token)) return "";
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
