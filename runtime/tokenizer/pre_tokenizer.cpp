#include "runtime/tokenizer/pre_tokenizer.h"

#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/tokenizer/bert_text.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/regex.h"

namespace genrt {

namespace {

// GPT-2's pre-tokenization regex, part of the definition of the ByteLevel pre-tokenizer
// (use_regex: true) rather than of any file.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Rust's char::is_whitespace, the Unicode White_Space property (PCRE2's \s under UCP misses
// U+0085), and Rust regex's Unicode \w (Alphabetic, marks, decimal digits, connector
// punctuation, joiners): what the tokenizers library's whitespace pre-tokenizers split by.
constexpr const char* kWhiteSpace = R"([\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}])";
constexpr const char* kWordChars = R"(\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control})";

enum class SplitBehavior { isolated, removed, merged_with_previous, merged_with_next };

// Splits each piece at the regex's matches (or, inverted, keeps the matches as the
// delimiters' complement), placing the delimiters as `behavior` says.
PreTokenizer split_by(std::shared_ptr<const Regex> regex, SplitBehavior behavior, bool invert) {
  return [regex, behavior, invert](std::vector<std::string>& pieces, bool) {
    std::vector<std::string> out;
    for (const std::string& piece : pieces) {
      // Alternating (text, is_delimiter) spans covering the piece.
      std::vector<std::pair<std::string, bool>> spans;
      size_t cursor = 0;
      for (const auto& [begin, end] : regex->find_all(piece)) {
        if (begin > cursor) spans.emplace_back(piece.substr(cursor, begin - cursor), invert);
        spans.emplace_back(piece.substr(begin, end - begin), !invert);
        cursor = end;
      }
      if (cursor < piece.size()) spans.emplace_back(piece.substr(cursor), invert);

      std::vector<std::string> words;
      std::string carry;  // a delimiter waiting to be merged into the next span
      for (auto& [text, is_delimiter] : spans) {
        if (!is_delimiter) {
          words.push_back(carry + text);
          carry.clear();
        } else if (behavior == SplitBehavior::isolated) {
          words.push_back(text);
        } else if (behavior == SplitBehavior::merged_with_previous) {
          if (words.empty()) {
            words.push_back(text);
          } else {
            words.back() += text;
          }
        } else if (behavior == SplitBehavior::merged_with_next) {
          carry += text;
        }  // removed: dropped
      }
      if (!carry.empty()) words.push_back(carry);
      out.insert(out.end(), words.begin(), words.end());
    }
    pieces = std::move(out);
  };
}

SplitBehavior parse_behavior(const std::string& name, const std::string& where) {
  if (name == "Isolated") return SplitBehavior::isolated;
  if (name == "Removed") return SplitBehavior::removed;
  if (name == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (name == "MergedWithNext") return SplitBehavior::merged_with_next;
  fail("{}: Split behavior '{}' is not supported", where, name);
}

// A literal string as a PCRE2 pattern (\Q...\E quotes everything but "\E" itself).
std::string escape_regex(const std::string& literal) {
  GENRT_CHECK(literal.find("\\E") == std::string::npos, "split string '{}' cannot contain \\E", literal);
  return "\\Q" + literal + "\\E";
}

}  // namespace

PreTokenizer make_pre_tokenizer(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return [](std::vector<std::string>&, bool) {};
  GENRT_CHECK(spec.is_object() && spec.contains("type"), "{}: pre_tokenizer needs a 'type'", where);
  const std::string type = spec["type"].get<std::string>();
  const std::string at = where + ": pre_tokenizer " + type;
  if (type == "Sequence") {
    std::vector<PreTokenizer> steps;
    for (const auto& step : spec.at("pretokenizers")) steps.push_back(make_pre_tokenizer(step, where));
    return [steps](std::vector<std::string>& pieces, bool first) {
      for (const auto& step : steps) step(pieces, first);
    };
  }
  if (type == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (type == "Split") {
    const auto& pattern = spec.at("pattern");
    std::string regex;
    if (pattern.contains("Regex")) {
      regex = pattern["Regex"].get<std::string>();
    } else {
      GENRT_CHECK(pattern.contains("String"), "{}: pattern must be {{\"Regex\": ...}} or {{\"String\": ...}}", at);
      regex = escape_regex(pattern["String"].get<std::string>());
    }
    return split_by(std::make_shared<Regex>(regex, at), parse_behavior(spec.at("behavior").get<std::string>(), at),
                    spec.value("invert", false));
  }
  if (type == "ByteLevel") {
    const bool add_prefix_space = spec.value("add_prefix_space", true);
    const bool use_regex = spec.value("use_regex", true);
    PreTokenizer split = use_regex ? split_by(std::make_shared<Regex>(kGpt2Pattern, at), SplitBehavior::isolated, false)
                                   : PreTokenizer([](std::vector<std::string>&, bool) {});
    return [add_prefix_space, split](std::vector<std::string>& pieces, bool first) {
      if (add_prefix_space) {
        for (std::string& piece : pieces) {
          if (!piece.empty() && piece[0] != ' ') piece.insert(0, " ");
        }
      }
      split(pieces, first);
      for (std::string& piece : pieces) piece = bytes_to_unicode(piece);
    };
  }
  if (type == "Metaspace") {
    const std::string replacement = spec.value("replacement", "\u2581");
    std::string scheme = spec.value("prepend_scheme", "");
    if (scheme.empty()) scheme = spec.value("add_prefix_space", true) ? "always" : "never";
    GENRT_CHECK(scheme == "always" || scheme == "first" || scheme == "never",
                "{}: prepend_scheme '{}' is not supported", at, scheme);
    const bool split = spec.value("split", true);
    auto splitter = split_by(std::make_shared<Regex>(escape_regex(replacement), at), SplitBehavior::merged_with_next, false);
    return [replacement, scheme, split, splitter](std::vector<std::string>& pieces, bool first) {
      for (std::string& piece : pieces) {
        std::string spaced;
        for (char c : piece) {
          if (c == ' ') {
            spaced += replacement;
          } else {
            spaced += c;
          }
        }
        const bool prepend = scheme == "always" || (scheme == "first" && first);
        if (prepend && spaced.compare(0, replacement.size(), replacement) != 0) spaced.insert(0, replacement);
        piece = std::move(spaced);
      }
      if (split) splitter(pieces, first);
    };
  }
  if (type == "WhitespaceSplit") {  // T5's tokenizer.json on the Hub, before its Metaspace
    return split_by(std::make_shared<Regex>(std::string(kWhiteSpace) + "+", at), SplitBehavior::removed, false);
  }
  if (type == "Whitespace") {  // words and runs of other non-blank characters: \w+|[^\w\s]+
    const std::string white = std::string(kWhiteSpace).substr(1, std::string(kWhiteSpace).size() - 2);
    const std::string pattern = fmt::format("[{0}]+|[^{0}{1}]+", kWordChars, white);
    return split_by(std::make_shared<Regex>(pattern, at), SplitBehavior::removed, true);
  }
  if (type == "Digits") {
    const bool individual = spec.value("individual_digits", false);
    return split_by(std::make_shared<Regex>(individual ? R"(\p{N})" : R"(\p{N}+)", at), SplitBehavior::isolated, false);
  }
  fail("{}: pre_tokenizer type '{}' is not supported", where, type);
}

}  // namespace genrt
