#include "runtime/tokenizer/utf8_stream.h"

#include "runtime/core/utf8.h"

namespace genrt {

namespace {
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
}

std::string Utf8Stream::push(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  std::string_view rest = pending_;
  while (!rest.empty()) {
    const size_t length = utf8_valid_prefix(rest);
    if (length == std::string_view::npos) break;  // incomplete: wait for more bytes
    if (length == 0) {
      out += kReplacement;
      rest.remove_prefix(1);
    } else {
      out.append(rest.substr(0, length));
      rest.remove_prefix(length);
    }
  }
  pending_ = std::string(rest);
  return out;
}

std::string Utf8Stream::finish() {
  std::string out = pending_.empty() ? "" : std::string(kReplacement);
  pending_.clear();
  return out;
}

}  // namespace genrt
