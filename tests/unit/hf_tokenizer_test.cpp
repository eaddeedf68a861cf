// tokenizer.json against the Hugging Face `tokenizers` library
// (tools/golden/tokenizers_golden.py; BPE and Unigram): identical ids for every golden string, the same
// decoded text, streaming equal to whole decoding, and the malformed-file errors.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/core/utf8.h"
#include "runtime/io/json_file.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/normalizer.h"
#include "runtime/tokenizer/stream_decoder.h"
#include "runtime/tokenizer/tokenizer_files.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

struct GoldenSet {
  const char* name;
  std::filesystem::path tokenizer;  // tokenizer.json or its directory
  std::filesystem::path golden;
};

std::vector<GoldenSet> golden_sets() {
  const auto dir = test::data_dir() / "tokenizers";
  return {{"gpt2", test::shared_dir() / "tokenizers" / "gpt2", dir / "gpt2_golden.json"},
          {"bytelevel", dir / "bytelevel", dir / "bytelevel" / "golden.json"},
          {"sentencepiece", dir / "sentencepiece" / "tokenizer.json", dir / "sentencepiece" / "golden.json"},
          {"unigram", dir / "unigram", dir / "unigram" / "golden.json"},
          {"precompiled", dir / "precompiled", dir / "precompiled" / "golden.json"},
          {"whitespace_split", dir / "whitespace_split", dir / "whitespace_split" / "golden.json"},
          {"whitespace", dir / "whitespace", dir / "whitespace" / "golden.json"}};
}

class HfTokenizerGolden : public ::testing::TestWithParam<GoldenSet> {};

TEST_P(HfTokenizerGolden, EveryStringMatchesTheTokenizersLibrary) {
  const HfTokenizer tok = HfTokenizer::open(GetParam().tokenizer);
  const auto golden = read_json_file(GetParam().golden);
  ASSERT_GT(golden.at("cases").size(), 20u);
  for (const auto& c : golden.at("cases")) {
    const std::string text = from_hex(c.at("text_hex").get<std::string>());
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(text, false), ids) << "text: " << text;
    EXPECT_EQ(tok.encode(text, true), c.at("ids_with_special").get<std::vector<int32_t>>()) << "text: " << text;
    EXPECT_EQ(utf8_lossy(tok.decode(ids, false)), from_hex(c.at("decoded").get<std::string>())) << "text: " << text;
  }
}

TEST_P(HfTokenizerGolden, StreamingDecodeEqualsWholeDecode) {
  const HfTokenizer tok = HfTokenizer::open(GetParam().tokenizer);
  const auto golden = read_json_file(GetParam().golden);  // kept alive: the loop walks into it
  for (const auto& c : golden.at("cases")) {
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    std::vector<int32_t> specials;  // all spelled, as the whole decode spells them
    for (int32_t id : ids) {
      if (tok.is_special(id)) specials.push_back(id);
    }
    StreamDecoder stream(tok, {}, specials);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.push(id);
    streamed += stream.finish();
    EXPECT_EQ(streamed, utf8_lossy(tok.decode(ids, false)));
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, HfTokenizerGolden, ::testing::ValuesIn(golden_sets()),
                         [](const auto& info) { return std::string(info.param.name); });

// XLM-R's normalizer (tools/golden/precompiled_golden.py): SentencePiece's nmt_nfkc charsmap
// (Precompiled), then Strip and Replace, against tokenizers on hostile strings (ligatures,
// full-width and circled forms, combining marks, CR LF, control and zero-width characters).
TEST(Precompiled, NormalizesAsTokenizersDoes) {
  const auto dir = test::data_dir() / "tokenizers" / "precompiled";
  const auto config = read_json_file(dir / "tokenizer.json");
  const auto golden = read_json_file(dir / "golden.json");
  const nlohmann::json& spec = config.at("normalizer");
  const Normalizer whole = make_normalizer(spec, "tokenizer.json");
  const Normalizer precompiled = make_normalizer(spec.at("normalizers").at(0), "tokenizer.json");
  ASSERT_EQ(spec.at("normalizers").at(0).at("type"), "Precompiled");
  int changed = 0;
  for (const auto& c : golden.at("cases")) {
    const std::string text = from_hex(c.at("text_hex").get<std::string>());
    const std::string want = from_hex(c.at("precompiled_only").get<std::string>());
    EXPECT_EQ(precompiled(text), want) << "text: " << text;
    EXPECT_EQ(whole(text), from_hex(c.at("normalized").get<std::string>())) << "text: " << text;
    changed += want != text;
  }
  EXPECT_GE(changed, 20);  // the strings exercise the charsmap
  const nlohmann::json truncated = {{"type", "Precompiled"}, {"precompiled_charsmap", "AQAAAA=="}};
  EXPECT_ERROR(make_normalizer(truncated, "tokenizer.json"), "precompiled charsmap says its trie has 1 bytes, but it holds 0");
  const nlohmann::json not_base64 = {{"type", "Precompiled"}, {"precompiled_charsmap", "AQ?A"}};
  EXPECT_ERROR(make_normalizer(not_base64, "tokenizer.json"), "'?' at 2 is not base64");
}

TEST(HfTokenizer, SpecialTokensAndConfig) {
  const HfTokenizer sp = HfTokenizer::open(test::data_dir() / "tokenizers" / "sentencepiece");
  EXPECT_EQ(sp.bos_id(), 1);
  EXPECT_EQ(sp.eos_id(), 2);
  EXPECT_EQ(sp.encode("hi", true).front(), 1);
  const std::vector<int32_t> with_bos = sp.encode("Once upon a time", true);
  EXPECT_EQ(sp.decode(with_bos, true), "Once upon a time");
  const HfTokenizer gpt2 = HfTokenizer::open(test::shared_dir() / "tokenizers" / "gpt2");
  EXPECT_EQ(gpt2.vocab_size(), 50257);
  EXPECT_EQ(gpt2.eos_id(), 50256);
  EXPECT_EQ(gpt2.encode("<|endoftext|>", false), (std::vector<int32_t>{50256}));
  EXPECT_EQ(gpt2.decode(gpt2.encode("a<|endoftext|>b", false), true), "ab");
  EXPECT_EQ(gpt2.token_text(50256), "<|endoftext|>");
}

// A minimal valid tokenizer.json to break one field at a time.
nlohmann::json small_tokenizer() {
  return {{"model",
           {{"type", "BPE"},
            {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}, {"<0x41>", 3}}},
            {"merges", {"a b"}},
            {"byte_fallback", true}}},
          {"added_tokens", nlohmann::json::array({{{"id", 4}, {"content", "<s>"}, {"special", true}}})}};
}

TEST(HfTokenizer, SmallTokenizerWorks) {
  const HfTokenizer t = HfTokenizer::from_json(small_tokenizer(), nullptr, "t.json");
  EXPECT_EQ(t.encode("abA<s>", false), (std::vector<int32_t>{2, 3, 4}));
  EXPECT_EQ(t.vocab_size(), 5);
}

struct BadTokenizer {
  const char* name;
  std::function<void(nlohmann::json&)> damage;
  const char* error;
};

class HostileTokenizerJson : public ::testing::TestWithParam<BadTokenizer> {};

TEST_P(HostileTokenizerJson, IsRejectedWithAClearError) {
  nlohmann::json j = small_tokenizer();
  GetParam().damage(j);
  EXPECT_ERROR(HfTokenizer::from_json(j, nullptr, "t.json"), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Table, HostileTokenizerJson,
    ::testing::Values(
        BadTokenizer{"MergeOfUnknownToken", [](auto& j) { j["model"]["merges"] = {"a c"}; },
                     "merge 0 names 'c', which is not in the vocabulary"},
        BadTokenizer{"MergeResultUnknown", [](auto& j) { j["model"]["merges"] = {"b a"}; },
                     "merge 0 makes 'ba', which is not in the vocabulary"},
        BadTokenizer{"MergeNotAPair", [](auto& j) { j["model"]["merges"] = {"a b c"}; },
                     "is not two tokens separated by one space"},
        BadTokenizer{"ByteTokenOneDigit", [](auto& j) { j["model"]["vocab"]["<0x4>"] = 5; },
                     "byte-fallback token '<0x4>' must be <0xNN> with two hex digits"},
        BadTokenizer{"ByteTokenNotHex", [](auto& j) { j["model"]["vocab"]["<0xZZ>"] = 5; },
                     "byte-fallback token '<0xZZ>' must be <0xNN>"},
        BadTokenizer{"ByteTokenNegative", [](auto& j) { j["model"]["vocab"]["<0x-1>"] = 5; },
                     "byte-fallback token '<0x-1>' must be <0xNN>"},
        BadTokenizer{"GiganticVocabEntry", [](auto& j) { j["model"]["vocab"][std::string(100000, 'x')] = 5; },
                     "a vocab entry of 100000 bytes is longer than the 4096-byte limit"},
        BadTokenizer{"GiganticAddedToken", [](auto& j) { j["added_tokens"][0]["content"] = std::string(5000, 'y'); },
                     "added token 4 is 5000 bytes"},
        BadTokenizer{"WrongJsonTypes", [](auto& j) { j["added_tokens"][0]["content"] = 12; },
                     "malformed tokenizer.json"},
        BadTokenizer{"NegativeId", [](auto& j) { j["model"]["vocab"]["c"] = -1; }, "vocab entry 'c' has id -1"},
        BadTokenizer{"DuplicateId", [](auto& j) { j["model"]["vocab"]["c"] = 0; }, "id 0 is given to both"},
        BadTokenizer{"AddedTokenCollides",
                     [](auto& j) { j["added_tokens"][0]["id"] = 1; },
                     "added token '<s>' has id 1, which the vocabulary gives to 'b'"},
        BadTokenizer{"SpecialIdOutsideVocabulary",
                     [](auto& j) {
                       j["post_processor"] = {{"type", "TemplateProcessing"},
                                              {"single", {{{"SpecialToken", {{"id", "<s>"}}}}, {{"Sequence", {{"id", "A"}}}}}},
                                              {"special_tokens", {{"<s>", {{"ids", {99}}}}}}};
                     },
                     "special token '<s>' has id 99, outside the vocabulary of 5"},
        BadTokenizer{"UnknownUnkToken", [](auto& j) { j["model"]["unk_token"] = "<unk>"; },
                     "unk_token '<unk>' is not in the vocabulary"},
        BadTokenizer{"WordPieceWithoutUnk", [](auto& j) { j["model"]["type"] = "WordPiece"; },
                     "the unknown token '[UNK]' is not in the vocabulary"},
        BadTokenizer{"UnigramWithBpeVocab", [](auto& j) { j["model"]["type"] = "Unigram"; },
                     "missing 'vocab' list of [piece, score]"},
        BadTokenizer{"UnknownModelType", [](auto& j) { j["model"]["type"] = "CharLevel"; },
                     "type 'CharLevel' is not supported"},
        BadTokenizer{"UnknownPreTokenizer", [](auto& j) { j["pre_tokenizer"] = {{"type", "UnicodeScripts"}}; },
                     "pre_tokenizer type 'UnicodeScripts' is not supported"},
        BadTokenizer{"BadRegex",
                     [](auto& j) {
                       j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
                     },
                     "regex does not compile"},
        BadTokenizer{"UnknownNormalizer", [](auto& j) { j["normalizer"] = {{"type", "Nmt"}}; },
                     "normalizer type 'Nmt' is not supported"},
        BadTokenizer{"PrecompiledWithoutCharsmap", [](auto& j) { j["normalizer"] = {{"type", "Precompiled"}}; },
                     "normalizer Precompiled: needs a 'precompiled_charsmap' (base64)"},
        BadTokenizer{"UnknownDecoder", [](auto& j) { j["decoder"] = {{"type", "CTC"}}; },
                     "decoder type 'CTC' is not supported"},
        BadTokenizer{"NoModel", [](auto& j) { j.erase("model"); }, "not a tokenizer.json (no 'model')"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(HfTokenizer, ConfigNamingUnknownTokensIsAnError) {
  EXPECT_ERROR(HfTokenizer::from_json(small_tokenizer(), {{"bos_token", "<bos>"}}, "t.json"),
               "bos_token '<bos>' is not in the vocabulary");
  EXPECT_ERROR(HfTokenizer::from_json(small_tokenizer(), {{"add_bos_token", true}}, "t.json"),
               "add_bos_token is true but there is no bos_token");
}

}  // namespace
}  // namespace genrt

namespace genrt {
namespace {

TEST(ChatTokenizerFiles, InitModelTokenizerCoversTheVocabularyAndRoundTrips) {
  test::TempDir dir;
  write_chat_tokenizer({.vocab_size = 600}, dir.path());
  const HfTokenizer t = HfTokenizer::open(dir.path());
  EXPECT_EQ(t.vocab_size(), 600);
  EXPECT_EQ(t.bos_id(), 0);
  EXPECT_EQ(t.eos_id(), 1);
  EXPECT_EQ(t.token_id("<|eot_id|>"), 4);
  const std::string text = "Once upon a time there was a little robot.";
  const auto ids = t.encode(text, true);
  EXPECT_EQ(ids.front(), 0);
  EXPECT_LT(ids.size(), text.size() / 2);  // learned merges make common words single tokens
  EXPECT_EQ(t.decode(ids, true), text);
  EXPECT_EQ(t.decode(std::vector<int32_t>{599}, true).front(), ' ');  // filler tokens read as words
  EXPECT_TRUE(t.chat_template().has_value());
  EXPECT_ERROR(write_chat_tokenizer({.vocab_size = 200}, dir.path()), "needs at least 261 tokens");
}

}  // namespace
}  // namespace genrt
