#include "runtime/tokenizer/stream_decoder.h"

namespace genrt {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, std::span<const int32_t> context, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {
  // One token of context is enough for the decoders genrt reads; keep a few for safety.
  const size_t keep = std::min<size_t>(context.size(), 4);
  ids_.assign(context.end() - static_cast<std::ptrdiff_t>(keep), context.end());
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
  ids_.push_back(token);
  const auto text = new_text();
  if (!text) return "";  // the window's text changed: wait for a token that settles it
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
