// The llama2.c tokenizer: SentencePiece-style BPE with byte fallback, decoding rules and
// the file format's error cases.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "runtime/tokenizer/llama2c_tokenizer.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

struct Vocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
};

// <unk> <s> </s>, 256 byte tokens (ids 3..258), then a few pieces with merge scores.
Vocab small_vocab() {
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  for (int b = 0; b < 256; ++b) pieces.push_back(fmt::format("<0x{:02X}>", b));
  const std::vector<std::pair<std::string, float>> extra = {
      {" ", -1}, {"h", -2}, {"e", -3}, {"l", -4}, {"o", -5}, {"w", -6}, {"r", -7}, {"d", -8},
      {"he", -10}, {"ll", -11}, {"hell", -12}, {" hell", -13}, {"lo", -20}, {" hello", -14},
      {"é", -30}};
  std::vector<float> scores(pieces.size(), 0.0f);
  for (const auto& [piece, score] : extra) {
    pieces.push_back(piece);
    scores.push_back(score);
  }
  return {pieces, scores};
}

Llama2cTokenizer small_tokenizer() {
  Vocab v = small_vocab();
  return Llama2cTokenizer::from_pieces(v.pieces, v.scores);
}

int32_t id_of(const Llama2cTokenizer& t, const std::string& piece) {
  for (int32_t i = 0; i < t.vocab_size(); ++i) {
    if (t.token_text(i) == piece) return i;
  }
  return -1;
}

TEST(Llama2cTokenizer, MergesByScoreWithDummyPrefix) {
  const auto t = small_tokenizer();
  const auto ids = t.encode("hello", /*add_bos=*/true);
  // " hello" is in the vocabulary and reachable by merges: " " + "hell" + "o"... the
  // best-scoring pairs merge first: he, ll, hell, " hell", " hello".
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], id_of(t, " hello"));
  EXPECT_EQ(t.decode(ids, true), "hello");  // BOS is not text; the prefix space is dropped after it
}

TEST(Llama2cTokenizer, ByteFallbackForUnknownCharacters) {
  const auto t = small_tokenizer();
  const auto ids = t.encode("h\xE2\x82\xAC", false);  // h€: € is not a piece
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_EQ(ids[0], id_of(t, " "));
  EXPECT_EQ(ids[1], id_of(t, "h"));
  EXPECT_EQ(ids[2], 3 + 0xE2);
  EXPECT_EQ(ids[3], 3 + 0x82);
  EXPECT_EQ(ids[4], 3 + 0xAC);
  EXPECT_EQ(t.decode(std::vector<int32_t>{ids[1], ids[2]}, true), "h\xE2");
  EXPECT_EQ(t.decode(ids, true), "h\xE2\x82\xAC");  // leading space dropped at the start
  EXPECT_EQ(t.encode("é", false).back(), id_of(t, "é"));  // multi-byte piece found whole
  EXPECT_TRUE(t.encode("", false).empty());
}

// tokenizer.bin bytes: max_token_length, then score, length, bytes per token.
std::string tokenizer_bin(const Vocab& v) {
  std::string bytes;
  test::append_pod(bytes, int32_t{16});
  for (size_t id = 0; id < v.pieces.size(); ++id) {
    test::append_pod(bytes, v.scores[id]);
    test::append_pod(bytes, static_cast<int32_t>(v.pieces[id].size()));
    bytes += v.pieces[id];
  }
  return bytes;
}

TEST(Llama2cTokenizer, OpensTokenizerBin) {
  test::TempDir dir;
  const auto t = small_tokenizer();
  test::write_file(dir / "tokenizer.bin", tokenizer_bin(small_vocab()));
  const auto loaded = Llama2cTokenizer::open(dir / "tokenizer.bin", t.vocab_size());
  EXPECT_EQ(loaded.encode("hello world", true), t.encode("hello world", true));
  EXPECT_ERROR(Llama2cTokenizer::open(dir / "tokenizer.bin", t.vocab_size() + 1),
               "file ends inside the score of token 274");
  EXPECT_ERROR(Llama2cTokenizer::open(dir / "tokenizer.bin", t.vocab_size() - 1),
               "bytes left after 273 tokens");
}

TEST(Llama2cTokenizer, MalformedFiles) {
  test::TempDir dir;
  std::string bytes;
  test::append_pod(bytes, int32_t{4});
  test::append_pod(bytes, 0.0f);
  test::append_pod(bytes, int32_t{9});  // longer than max_token_length 4
  bytes += "123456789";
  test::write_file(dir / "t.bin", bytes);
  EXPECT_ERROR(Llama2cTokenizer::open(dir / "t.bin", 1), "token 0 has length 9, outside [0, max_token_length 4]");

  std::string truncated;
  test::append_pod(truncated, int32_t{8});
  test::append_pod(truncated, 0.0f);
  test::append_pod(truncated, int32_t{5});
  truncated += "ab";
  test::write_file(dir / "t.bin", truncated);
  EXPECT_ERROR(Llama2cTokenizer::open(dir / "t.bin", 1), "file ends inside the text of token 0");

  test::write_file(dir / "t.bin", std::string("\xff\xff\xff\xff", 4));
  EXPECT_ERROR(Llama2cTokenizer::open(dir / "t.bin", 1), "max_token_length -1 must be positive");
}

}  // namespace
}  // namespace genrt
