#pragma once
// Stop strings (OpenAI's `stop`): generation ends where one appears in the text, even
// when it spans several tokens, and no part of it is ever emitted. Text that could be
// the start of a stop string is held back until the next tokens settle it.

#include <string>
#include <string_view>
#include <vector>

namespace genrt {

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stops);

  struct Result {
    std::string text;      // safe to emit now
    bool stopped = false;  // a stop string appeared; `text` ends right before it
  };
  // Appends newly decoded text.
  Result push(std::string_view text);
  // The held-back text, at the end of generation (no stop string came).
  std::string finish();

 private:
  std::vector<std::string> stops_;
  std::string held_;
};

}  // namespace genrt
