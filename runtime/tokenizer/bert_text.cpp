#include "runtime/tokenizer/bert_text.h"

#include <utf8proc.h>

#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/utf8.h"
#include "runtime/tokenizer/lowercase.h"

namespace genrt {

namespace {

utf8proc_category_t category(char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)); }

// Rust's char::is_whitespace (the White_Space property).
bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// tokenizers' is_control: the "other" categories, except tab, newline and carriage return.
bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS: return true;
    default: return false;
  }
}

// The CJK ideograph blocks of tokenizers' is_chinese_char (not Hiragana, Katakana or Hangul).
bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_punctuation(char32_t c) {
  if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
                       (c >= 0x7B && c <= 0x7E);
  const utf8proc_category_t cat = category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

// The code points of valid UTF-8 (HfTokenizer hands normalizers valid text).
std::vector<char32_t> code_points(std::string_view text) {
  std::vector<char32_t> out;
  for (std::string_view rest = text; !rest.empty();) {
    const Utf8Sequence seq = utf8_next(rest);
    out.push_back(seq.kind == Utf8Sequence::valid ? seq.code_point : U'\uFFFD');
    rest.remove_prefix(seq.length);
  }
  return out;
}

std::string to_utf8(const std::vector<char32_t>& chars) {
  std::string out;
  for (char32_t c : chars) append_utf8(out, c);
  return out;
}

// NFD, then without the nonspacing marks (Mn) the decomposition split off.
std::vector<char32_t> strip_accents(const std::vector<char32_t>& chars) {
  std::vector<char32_t> out;
  utf8proc_int32_t decomposed[8];
  for (char32_t c : chars) {
    int last_boundclass = 0;
    const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), decomposed, 8,
                                                       UTF8PROC_DECOMPOSE, &last_boundclass);
    if (n < 0 || n > 8) {
      out.push_back(c);
      continue;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) {
      if (category(static_cast<char32_t>(decomposed[i])) != UTF8PROC_CATEGORY_MN) out.push_back(decomposed[i]);
    }
  }
  return out;
}

std::vector<char32_t> lowercase(const std::vector<char32_t>& chars) {
  std::vector<char32_t> out;
  for (char32_t c : chars) append_lowercase(c, [&](char32_t lower) { out.push_back(lower); });
  return out;
}

}  // namespace

Normalizer make_bert_normalizer(const nlohmann::json& spec) {
  const bool clean_text = spec.value("clean_text", true);
  const bool handle_chinese_chars = spec.value("handle_chinese_chars", true);
  const bool lower = spec.value("lowercase", true);
  const auto accents = spec.find("strip_accents");
  const bool strip = accents == spec.end() || accents->is_null() ? lower : accents->get<bool>();
  return [=](std::string text) {
    std::vector<char32_t> chars;
    for (char32_t c : code_points(text)) {
      if (clean_text && (c == 0 || c == U'\uFFFD' || is_control(c))) continue;
      if (clean_text && is_whitespace(c)) c = ' ';
      const bool pad = handle_chinese_chars && is_chinese_char(c);
      if (pad) chars.push_back(' ');
      chars.push_back(c);
      if (pad) chars.push_back(' ');
    }
    if (strip) chars = strip_accents(chars);
    if (lower) chars = lowercase(chars);
    return to_utf8(chars);
  };
}

PreTokenizer make_bert_pre_tokenizer() {
  return [](std::vector<std::string>& pieces, bool) {
    std::vector<std::string> out;
    for (const std::string& piece : pieces) {
      std::string word;
      for (char32_t c : code_points(piece)) {
        const bool space = is_whitespace(c), punct = is_punctuation(c);
        if ((space || punct) && !word.empty()) out.push_back(std::exchange(word, {}));
        if (punct) {
          out.emplace_back();
          append_utf8(out.back(), c);
        } else if (!space) {
          append_utf8(word, c);
        }
      }
      if (!word.empty()) out.push_back(std::move(word));
    }
    pieces = std::move(out);
  };
}

Decoder make_wordpiece_decoder(const nlohmann::json& spec) {
  const std::string prefix = spec.value("prefix", std::string("##"));
  const bool cleanup = spec.value("cleanup", true);
  return [prefix, cleanup](std::vector<std::string>& tokens) {
    static const std::pair<std::string_view, std::string_view> kCleanup[] = {
        {" .", "."},     {" ?", "?"},       {" !", "!"},         {" ,", ","},   {" ' ", "'"},  {" n't", "n't"},
        {" 'm", "'m"},   {" do not", " don't"}, {" 's", "'s"},   {" 've", "'ve"}, {" 're", "'re"}};
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i > 0) {
        if (t.starts_with(prefix)) {
          t.erase(0, prefix.size());
        } else {
          t.insert(0, " ");
        }
      }
      if (!cleanup) continue;
      for (const auto& [from, to] : kCleanup) {
        for (size_t at = t.find(from); at != std::string::npos; at = t.find(from, at + to.size())) {
          t.replace(at, from.size(), to);
        }
      }
    }
  };
}

}  // namespace genrt
