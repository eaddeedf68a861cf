#include <gtest/gtest.h>

#include "runtime/core/utf8.h"
#include "runtime/tokenizer/utf8_stream.h"

namespace genrt {
namespace {

TEST(Utf8, ValidatesSequences) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(is_valid_utf8("\xC3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // UTF-16 surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\x80"));              // stray continuation
  EXPECT_EQ(utf8_next("\xE2\x82").kind, Utf8Sequence::incomplete);
  EXPECT_EQ(utf8_next("\xE2\x82\xAC").code_point, U'\u20AC');
}

TEST(Utf8, ValidPrefixEndsAtTheFirstBadByte) {
  EXPECT_EQ(valid_utf8_prefix("caf\xC3\xA9"), 5u);
  EXPECT_EQ(valid_utf8_prefix("ab\xFF\xFE cd"), 2u);
  EXPECT_EQ(valid_utf8_prefix("\xC3\xA9\xE2\x82"), 2u);  // an unfinished character at the end
  EXPECT_EQ(valid_utf8_prefix(""), 0u);
}

TEST(Utf8, LossyReplacesMaximalSubpartsLikePython) {
  // b"...".decode("utf-8", errors="replace") gives these.
  EXPECT_EQ(utf8_lossy("a\xF0\x9F\x98 b"), "a\xEF\xBF\xBD b");           // one U+FFFD for F0 9F 98
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");           // C0 is never valid
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(utf8_lossy("\xE2\x82"), "\xEF\xBF\xBD");                       // cut at the end
  std::string s;
  append_utf8(s, U'\U0001F600');
  EXPECT_EQ(s, "\xF0\x9F\x98\x80");
}

TEST(Utf8Stream, HoldsBackPartialCharacters) {
  Utf8Stream s;
  EXPECT_EQ(s.push("a\xE2"), "a");
  EXPECT_EQ(s.push("\x82"), "");
  EXPECT_EQ(s.push("\xAC!"), "\xE2\x82\xAC!");
  EXPECT_EQ(s.finish(), "");
}

TEST(Utf8Stream, InvalidBytesBecomeReplacementCharacters) {
  Utf8Stream s;
  EXPECT_EQ(s.push("\xFFok"), "\xEF\xBF\xBDok");
  EXPECT_EQ(s.push("\xF0\x9F"), "");
  EXPECT_EQ(s.push("x"), "\xEF\xBF\xBDx");  // F0 9F then x: one maximal invalid subpart
  EXPECT_EQ(s.push("\xC3"), "");
  EXPECT_EQ(s.finish(), "\xEF\xBF\xBD");  // unfinished at the end
}

}  // namespace
}  // namespace genrt
