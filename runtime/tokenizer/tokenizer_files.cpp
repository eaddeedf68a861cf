#include "runtime/tokenizer/tokenizer_files.h"

#include <fmt/format.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/tokenizer/bpe_trainer.h"
#include "runtime/tokenizer/byte_level.h"

namespace genrt {

const char* const kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const char* const kLlama3ChatTemplate =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

namespace {

// What the merges are learned from: ordinary English prose with the usual mix of
// punctuation, digits and whitespace, so that common words become single tokens.
constexpr const char* kTrainingText = R"(Once upon a time there was a little robot who lived in a quiet
town by the sea. Every morning the robot walked to the harbour to watch the boats come in. The
fishermen waved, and the robot waved back. "Good morning!" they said. "It is a fine day for the
sea." One day a storm came, and the boats could not find their way home. The robot climbed the
old lighthouse, turned on its lamp, and shone it over the water all night long. In the morning
every boat was safe in the harbour, and the people of the town thanked the little robot. From
that day on, the robot kept the light in the lighthouse, and it was never lonely again.
The answer to the question is 42, and the year was 1999. She said: "I'll be there at 10:30."
They'd thought about it for a long time; we're sure it's the right thing to do, aren't we?
)";

// The n-th made-up word, with its leading space: n in base 48, a syllable per digit.
std::string made_up_word(int64_t n) {
  static const char* const kSyllables[] = {
      "ka", "ru", "mi", "so", "te", "no", "li", "ba", "de", "fo", "gi", "ha", "jo", "ke", "lu", "ma",
      "ne", "pi", "qua", "ra", "si", "to", "vu", "wa", "xe", "yo", "za", "bri", "cla", "dro", "fle", "gro",
      "pla", "sta", "tri", "vel", "mor", "tan", "sel", "dun", "par", "lin", "cor", "ben", "hal", "fin", "rim", "sol"};
  constexpr int64_t kBase = std::size(kSyllables);
  std::string word = " ";
  do {
    word += kSyllables[n % kBase];
    n /= kBase;
  } while (n > 0);
  return word;
}

}  // namespace

void write_chat_tokenizer(const ChatTokenizerSpec& spec, const std::filesystem::path& dir) {
  const auto n_specials = static_cast<int64_t>(spec.specials.size());
  GENRT_CHECK(spec.vocab_size >= n_specials + 256,
              "a byte-level tokenizer needs at least {} tokens ({} special + 256 bytes), the model has {}",
              n_specials + 256, n_specials, spec.vocab_size);

  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  nlohmann::json added = nlohmann::json::array();
  auto add_special = [&](const std::string& token) {
    const auto id = static_cast<int64_t>(vocab.size());
    vocab[token] = id;
    added.push_back({{"id", id}, {"content", token}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  };
  for (const std::string& s : spec.specials) add_special(s);
  for (int b = 0; b < 256; ++b) vocab[byte_to_unicode(static_cast<unsigned char>(b))] = static_cast<int64_t>(vocab.size());
  const auto budget = static_cast<size_t>(spec.vocab_size - static_cast<int64_t>(vocab.size()));
  const TrainedBpe bpe = train_byte_level_bpe(kTrainingText, kLlama3SplitPattern, budget);
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [left, right] : bpe.merges) {
    merges.push_back({left, right});
    // Two merge paths can spell the same token ("a"+"bc", "ab"+"c"): it keeps one id.
    if (!vocab.contains(left + right)) vocab[left + right] = static_cast<int64_t>(vocab.size());
  }
  // The rest of the model's embedding rows get made-up words (" kabo", " rulime", ...):
  // a random-weight model samples all ids alike, and its gibberish should read as text
  // rather than vanish into special tokens. Real text only reaches them whole, through
  // ignore_merges.
  for (int64_t n = 0; static_cast<int64_t>(vocab.size()) < spec.vocab_size; ++n) {
    const std::string word = bytes_to_unicode(made_up_word(n));
    if (!vocab.contains(word)) vocab[word] = static_cast<int64_t>(vocab.size());
  }

  const nlohmann::ordered_json tokenizer = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", kLlama3SplitPattern}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", spec.specials[0]}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", {{{"SpecialToken", {{"id", spec.specials[0]}, {"type_id", 0}}}},
                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                  {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{spec.specials[0], {{"id", spec.specials[0]}, {"ids", {0}}, {"tokens", {spec.specials[0]}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", true},
        {"vocab", vocab}, {"merges", merges}}}};
  const nlohmann::ordered_json config = {
      {"bos_token", spec.specials[0]},
      {"eos_token", spec.specials[1]},
      {"model_max_length", 1000000},
      {"tokenizer_class", "PreTrainedTokenizerFast"},
      {"chat_template", kLlama3ChatTemplate},
  };
  for (const auto& [name, json] : {std::pair{"tokenizer.json", &tokenizer}, std::pair{"tokenizer_config.json", &config}}) {
    std::ofstream out(dir / name, std::ios::trunc);
    GENRT_CHECK(out.good(), "cannot create {}", (dir / name).string());
    out << json->dump(2) << "\n";
    GENRT_CHECK(out.good(), "error writing {}", (dir / name).string());
  }
}

}  // namespace genrt
