// The CLIP tokenizer against transformers' CLIPTokenizer as diffusers' pipelines call it
// (tools/golden/clip.py): the same 77 ids for every hostile string, SD 1.x's and 2.x's pad
// tokens, truncation that keeps the EOS, and the errors of broken tokenizer folders.

#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/tokenizer/clip_tokenizer.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

namespace fs = std::filesystem;

fs::path tiny_clip() { return test::data_dir() / "tiny_clip"; }

const nlohmann::json& golden() {
  static const nlohmann::json j = read_json_file(tiny_clip() / "golden.json");
  return j;
}

// A copy of a variant's tokenizer/ folder without `left_out`, to break.
fs::path copy_tokenizer(const test::TempDir& tmp, const char* variant, const char* left_out = "") {
  const fs::path dir = tmp / "tokenizer";
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(tiny_clip() / variant / "tokenizer")) {
    if (entry.path().filename() != left_out) fs::copy_file(entry.path(), dir / entry.path().filename());
  }
  return dir;
}

struct GoldenCase {
  const char* name;
  const char* variant;   // golden.json's key and the folder under tiny_clip/
  const char* left_out;  // a file of the folder not to read
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }

class ClipTokenizerGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(ClipTokenizerGolden, EveryStringGetsTransformersIds) {
  test::TempDir tmp;
  const ClipTokenizer tok = ClipTokenizer::open(copy_tokenizer(tmp, GetParam().variant, GetParam().left_out));
  const auto& g = golden().at(GetParam().variant);
  EXPECT_EQ(tok.max_length(), 77);
  EXPECT_EQ(tok.pad_id(), g.at("pad_id").get<int32_t>());
  ASSERT_GE(g.at("tokenizer").size(), 30u);
  int truncated = 0;
  for (const auto& c : g.at("tokenizer")) {
    const std::string text = c.at("text").get<std::string>();
    const ClipTokens got = tok.encode(text);
    EXPECT_EQ(got.ids, c.at("ids").get<std::vector<int32_t>>()) << "text: " << text;
    EXPECT_EQ(got.truncated, c.at("truncated").get<bool>()) << "text: " << text;
    truncated += got.truncated;
  }
  EXPECT_EQ(truncated, 1) << "the golden strings hold one prompt past 77 tokens";
}

INSTANTIATE_TEST_SUITE_P(
    Folders, ClipTokenizerGolden,
    ::testing::Values(GoldenCase{"sd1_vocab_and_merges", "sd1", ""}, GoldenCase{"sd2_tokenizer_json", "sd2", ""},
                      GoldenCase{"sd2_vocab_and_merges", "sd2", "tokenizer.json"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ClipTokenizer, PadsWithTheConfiguredTokenAndMatchesItWhole) {
  const ClipTokenizer sd1 = ClipTokenizer::open(tiny_clip() / "sd1" / "tokenizer");
  const ClipTokenizer sd2 = ClipTokenizer::open(tiny_clip() / "sd2" / "tokenizer");
  EXPECT_EQ(sd1.pad_id(), sd1.eos_id());
  const std::vector<int32_t> empty = sd2.encode("").ids;
  ASSERT_EQ(empty.size(), 77u);
  EXPECT_EQ(empty[0], sd2.bos_id());
  EXPECT_EQ(empty[1], sd2.eos_id());
  EXPECT_EQ(empty[76], sd2.pad_id());
  EXPECT_NE(sd2.pad_id(), sd2.eos_id());
  // SD 2.x's pad token "!" is a special token: "!!" in a prompt is two of it, not a merge.
  const std::vector<int32_t> bangs = sd2.encode("!!").ids;
  EXPECT_EQ(std::vector<int32_t>(bangs.begin(), bangs.begin() + 4),
            (std::vector<int32_t>{sd2.bos_id(), sd2.pad_id(), sd2.pad_id(), sd2.eos_id()}));
}

TEST(ClipTokenizer, TruncationKeepsTheEosAndWarnsWithTheDroppedText) {
  const ClipTokenizer tok = ClipTokenizer::open(tiny_clip() / "sd1" / "tokenizer");
  std::string prompt;
  for (int i = 0; i < 81; ++i) prompt += "a ";
  std::ostringstream log;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
  const ClipTokens got = tok.encode(prompt);
  spdlog::set_default_logger(previous);
  EXPECT_TRUE(got.truncated);
  ASSERT_EQ(got.ids.size(), 77u);
  EXPECT_EQ(got.ids.back(), tok.eos_id());
  EXPECT_EQ(got.ids[75], got.ids[1]) << "position 75 still holds an 'a'";
  EXPECT_THAT(log.str(), ::testing::HasSubstr("the prompt is 81 tokens, more than the 75 CLIP takes"));
  EXPECT_THAT(log.str(), ::testing::HasSubstr("dropped: \"a a a a a a\""));
}

TEST(ClipTokenizer, SpecialTokensMapNamesThePadToken) {
  test::TempDir tmp;
  const fs::path dir = copy_tokenizer(tmp, "sd1");
  test::write_file(dir / "special_tokens_map.json", R"({"pad_token": "!"})");
  const ClipTokenizer tok = ClipTokenizer::open(dir);
  EXPECT_EQ(tok.pad_id(), golden().at("sd2").at("pad_id").get<int32_t>());
}

TEST(ClipTokenizer, BrokenFoldersAreClearErrors) {
  {
    test::TempDir tmp;
    EXPECT_ERROR(ClipTokenizer::open(copy_tokenizer(tmp, "sd1", "merges.txt")),
                 "missing merges.txt (and no tokenizer.json)");
  }
  {
    test::TempDir tmp;
    EXPECT_ERROR(ClipTokenizer::open(copy_tokenizer(tmp, "sd1", "tokenizer_config.json")),
                 "missing tokenizer_config.json");
  }
  {
    test::TempDir tmp;
    EXPECT_ERROR(ClipTokenizer::open(tmp / "nowhere"), "not a directory");
  }
  {
    test::TempDir tmp;
    const fs::path dir = copy_tokenizer(tmp, "sd1");
    test::write_file(dir / "special_tokens_map.json", R"({"pad_token": "<pad>"})");
    EXPECT_ERROR(ClipTokenizer::open(dir), "pad_token '<pad>' is not in the vocabulary");
  }
  {
    test::TempDir tmp;
    const fs::path dir = copy_tokenizer(tmp, "sd1");
    test::write_file(dir / "merges.txt", "#version: 0.2\nh e</w>\nnot-a-pair\n");
    EXPECT_ERROR(ClipTokenizer::open(dir), "merge 1 'not-a-pair' is not two tokens separated by one space");
  }
  {
    test::TempDir tmp;
    const fs::path dir = copy_tokenizer(tmp, "sd1");
    auto config = read_json_file(dir / "tokenizer_config.json");
    config.erase("model_max_length");
    test::write_file(dir / "tokenizer_config.json", config.dump());
    EXPECT_ERROR(ClipTokenizer::open(dir), "missing required field 'model_max_length'");
    config["model_max_length"] = 2;
    test::write_file(dir / "tokenizer_config.json", config.dump());
    EXPECT_ERROR(ClipTokenizer::open(dir), "model_max_length 2 must be between 3 (BOS, a token, EOS) and 65536");
  }
}

// GPT-2's byte-level BPE marks word starts, not word ends: its folder (or just its vocab.json
// and merges.txt) is not a CLIP tokenizer, however well-formed.
TEST(ClipTokenizer, VocabularyWithoutWordEndMergesIsRefused) {
  const fs::path gpt2 = test::shared_dir() / "tokenizers" / "gpt2";
  EXPECT_ERROR(ClipTokenizer::open(gpt2), "no merge makes a word end ('</w>'): not a CLIP vocabulary");
  test::TempDir tmp;
  const fs::path dir = copy_tokenizer(tmp, "sd1");
  fs::copy_file(gpt2 / "vocab.json", dir / "vocab.json", fs::copy_options::overwrite_existing);
  fs::copy_file(gpt2 / "merges.txt", dir / "merges.txt", fs::copy_options::overwrite_existing);
  EXPECT_ERROR(ClipTokenizer::open(dir), "vocab.json: no merge makes a word end");
}

}  // namespace
}  // namespace genrt
