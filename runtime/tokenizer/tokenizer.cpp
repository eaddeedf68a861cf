#include "runtime/tokenizer/tokenizer.h"

namespace genrt {

std::string Tokenizer::decode(const std::vector<int32_t>& tokens) const {
  std::string text;
  int32_t previous = -1;
  for (int32_t token : tokens) {
    text += decode_token(previous, token);
    previous = token;
  }
  return text;
}

}  // namespace genrt
