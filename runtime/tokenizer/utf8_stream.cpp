#include "runtime/tokenizer/utf8_stream.h"

#include "runtime/core/utf8.h"

namespace genrt {

std::string Utf8Stream::push(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  std::string_view rest = pending_;
  while (!rest.empty()) {
    const Utf8Sequence seq = utf8_next(rest);
    if (seq.kind == Utf8Sequence::incomplete) break;  // wait for more bytes
    if (seq.kind == Utf8Sequence::valid) {
      out.append(rest.substr(0, seq.length));
    } else {
      out.append(kReplacementCharacter);
    }
    rest.remove_prefix(seq.length);
  }
  pending_ = std::string(rest);
  return out;
}

std::string Utf8Stream::finish() {
  std::string out = pending_.empty() ? "" : std::string(kReplacementCharacter);
  pending_.clear();
  return out;
}

}  // namespace genrt
