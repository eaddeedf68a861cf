#include "runtime/tokenizer/clip_tokenizer.h"

#include <algorithm>
#include <fstream>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"
#include "runtime/tokenizer/token_text.h"

namespace genrt {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kWordEnd = "</w>";

// What transformers' CLIPTokenizer puts around the BPE model, whatever the files say: NFC,
// whitespace runs to one space, lower case; CLIP's split regex (its special tokens, English
// contractions, letter runs, single digits, runs of anything else; whitespace dropped),
// then GPT-2's byte-to-unicode spelling.
const nlohmann::json& clip_pipeline_json() {
  static const nlohmann::json j = nlohmann::json::parse(R"({
    "normalizer": {"type": "Sequence", "normalizers": [
      {"type": "NFC"},
      {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
      {"type": "Lowercase"}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "behavior": "Removed", "invert": true, "pattern": {"Regex":
        "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"}},
      {"type": "ByteLevel", "add_prefix_space": false}]},
    "decoder": {"type": "ByteLevel"}
  })");
  return j;
}

// The special tokens of CLIPTokenizer, with its defaults, indexed by Special.
struct SpecialField {
  const char* field;
  const char* fallback;
};
enum Special { kBos, kEos, kUnk, kPad, kSpecials };
constexpr SpecialField kSpecialFields[kSpecials] = {{"bos_token", "<|startoftext|>"},
                                                    {"eos_token", "<|endoftext|>"},
                                                    {"unk_token", "<|endoftext|>"},
                                                    {"pad_token", "<|endoftext|>"}};

// A special token's text: a string, or {"content": ...} (AddedToken), in the first of the
// `sources` that names it; else the fallback.
std::string special_token(std::initializer_list<const nlohmann::json*> sources, const SpecialField& special,
                          const std::string& where) {
  for (const nlohmann::json* source : sources) {
    const auto it = source->find(special.field);
    if (it == source->end() || it->is_null()) continue;
    if (it->is_string()) return it->get<std::string>();
    GENRT_CHECK(it->is_object() && it->contains("content") && (*it)["content"].is_string(),
                "{}: {} must be a string or an object with 'content'", where, special.field);
    return (*it)["content"].get<std::string>();
  }
  return special.fallback;
}

// merges.txt: a "#version" header, then one "left right" merge a line, best first.
nlohmann::json read_merges_txt(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  GENRT_CHECK(in.good(), "{}: cannot be read", path.string());
  nlohmann::json merges = nlohmann::json::array();
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("#version", 0) == 0) continue;
    merges.push_back(line);
  }
  return merges;
}

// The second token of a merge, as "left right" or ["left", "right"].
std::string right_of(const nlohmann::json& merge) {
  if (merge.is_array() && merge.size() == 2 && merge[1].is_string()) return merge[1].get<std::string>();
  if (!merge.is_string()) return "";
  const std::string text = merge.get<std::string>();
  const size_t space = text.find(' ');
  return space == std::string::npos ? "" : text.substr(space + 1);
}

// CLIP's BPE marks word ends with </w>: merges that never make a word end belong to another
// tokenizer (GPT-2's spell a word's start with a space instead), whose ids would be wrong here.
void expect_word_end_merges(const nlohmann::json& merges, const std::string& where) {
  GENRT_CHECK(merges.is_array(), "{}: the merges must be a list", where);
  for (const auto& merge : merges) {
    if (right_of(merge).ends_with(kWordEnd)) return;
  }
  fail("{}: no merge makes a word end ('{}'): not a CLIP vocabulary (is it GPT-2's?)", where, kWordEnd);
}

}  // namespace

ClipTokenizer::ClipTokenizer(HfTokenizer tokenizer, int64_t max_length, int32_t bos, int32_t eos, int32_t pad)
    : tokenizer_(std::move(tokenizer)), max_length_(max_length), bos_(bos), eos_(eos), pad_(pad) {}

ClipTokenizer ClipTokenizer::open(const fs::path& dir) {
  // A field of an unexpected JSON type surfaces as nlohmann's exception: report it as a
  // malformed file, like every other error here.
  try {
    return parse(dir);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed tokenizer files: {}", dir.string(), e.what());
  }
}

ClipTokenizer ClipTokenizer::parse(const fs::path& dir) {
  GENRT_CHECK(fs::is_directory(dir), "{}: not a directory (a pipeline's tokenizer/ folder)", dir.string());
  const fs::path config_path = dir / "tokenizer_config.json";
  GENRT_CHECK(fs::is_regular_file(config_path), "{}: missing tokenizer_config.json", dir.string());
  const nlohmann::json config = read_json_file(config_path);
  GENRT_CHECK(config.is_object(), "{}: expected a JSON object", config_path.string());
  const fs::path map_path = dir / "special_tokens_map.json";
  const nlohmann::json map = fs::is_regular_file(map_path) ? read_json_file(map_path) : nlohmann::json::object();
  GENRT_CHECK(map.is_object(), "{}: expected a JSON object", map_path.string());
  const auto max_length = json_required<int64_t>(config, "model_max_length", config_path.string());
  GENRT_CHECK(max_length >= 3 && max_length <= 65536,
              "{}: model_max_length {} must be between 3 (BOS, a token, EOS) and 65536 (CLIP's is 77)",
              config_path.string(), max_length);

  nlohmann::json vocab, merges, added = nlohmann::json::array();
  std::string where;
  const fs::path tokenizer_path = dir / "tokenizer.json";
  if (fs::is_regular_file(tokenizer_path)) {
    where = tokenizer_path.string();
    const nlohmann::json file = read_json_file(tokenizer_path);
    GENRT_CHECK(file.is_object() && file.contains("model") && file["model"].is_object(),
                "{}: not a tokenizer.json (no 'model')", where);
    vocab = file["model"].value("vocab", nlohmann::json());
    merges = file["model"].value("merges", nlohmann::json());
    added = file.value("added_tokens", nlohmann::json::array());
  } else {
    for (const char* name : {"vocab.json", "merges.txt"}) {
      GENRT_CHECK(fs::is_regular_file(dir / name), "{}: missing {} (and no tokenizer.json)", dir.string(), name);
    }
    where = (dir / "vocab.json").string();
    vocab = read_json_file(dir / "vocab.json");
    merges = read_merges_txt(dir / "merges.txt");
  }
  GENRT_CHECK(vocab.is_object(), "{}: the vocabulary must be an object of token ids", where);
  expect_word_end_merges(merges, where);

  // The special tokens are matched whole in the text, as transformers adds them.
  std::string names[kSpecials];
  for (int i = 0; i < kSpecials; ++i) {
    names[i] = special_token({&map, &config}, kSpecialFields[i], config_path.string());
    const auto id = vocab.find(names[i]);
    GENRT_CHECK(id != vocab.end(), "{}: {} '{}' is not in the vocabulary", config_path.string(),
                kSpecialFields[i].field, names[i]);
    const bool listed = std::any_of(added.begin(), added.end(),
                                    [&](const nlohmann::json& a) { return a.value("content", "") == names[i]; });
    if (!listed) added.push_back({{"id", *id}, {"content", names[i]}, {"special", true}});
  }
  nlohmann::json tokenizer = clip_pipeline_json();
  tokenizer["model"] = {{"type", "BPE"},         {"vocab", std::move(vocab)},
                        {"merges", std::move(merges)}, {"unk_token", names[kUnk]},
                        {"end_of_word_suffix", std::string(kWordEnd)}};
  tokenizer["added_tokens"] = std::move(added);
  HfTokenizer hf = HfTokenizer::from_json(tokenizer, nlohmann::json(), where);
  // The ids before hf is moved: argument evaluation order is unspecified (clang goes left
  // to right and would read them from a moved-from tokenizer).
  const int32_t bos = *hf.token_id(names[kBos]), eos = *hf.token_id(names[kEos]), pad = *hf.token_id(names[kPad]);
  return ClipTokenizer(std::move(hf), max_length, bos, eos, pad);
}

ClipTokens ClipTokenizer::encode(std::string_view prompt) const {
  std::vector<int32_t> tokens = tokenizer_.encode(prompt, false);
  const auto room = static_cast<size_t>(max_length_ - 2);
  ClipTokens out;
  out.truncated = tokens.size() > room;
  if (out.truncated) {
    spdlog::warn("the prompt is {} tokens, more than the {} CLIP takes between BOS and EOS; dropped: \"{}\"",
                 tokens.size(), room, text_of(std::span(tokens).subspan(room)));
    tokens.resize(room);
  }
  out.ids.reserve(static_cast<size_t>(max_length_));
  out.ids.push_back(bos_);
  out.ids.insert(out.ids.end(), tokens.begin(), tokens.end());
  out.ids.push_back(eos_);
  out.ids.resize(static_cast<size_t>(max_length_), pad_);
  return out;
}

std::string ClipTokenizer::text_of(std::span<const int32_t> ids) const {
  std::string text = replace_all(tokenizer_.decode(ids, false), kWordEnd, " ");
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace genrt
