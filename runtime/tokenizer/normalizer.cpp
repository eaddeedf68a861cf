#include "runtime/tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/core/base64.h"
#include "runtime/core/error.h"
#include "runtime/core/utf8.h"
#include "runtime/tokenizer/bert_text.h"
#include "runtime/tokenizer/lowercase.h"
#include "runtime/tokenizer/precompiled_charsmap.h"
#include "runtime/tokenizer/regex.h"
#include "runtime/tokenizer/token_text.h"

namespace genrt {

namespace {

Normalizer unicode_form(utf8proc_option_t options) {
  return [options](std::string text) {
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                            static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                                            static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
    GENRT_CHECK(n >= 0, "unicode normalization failed: {}", utf8proc_errmsg(n));
    std::string out(reinterpret_cast<char*>(mapped), static_cast<size_t>(n));
    std::free(mapped);
    return out;
  };
}

// Each character's lowercase (lowercase.h); bytes that are not UTF-8 pass through.
std::string lowercase(std::string text) {
  std::string out;
  out.reserve(text.size());
  for (std::string_view rest = text; !rest.empty();) {
    const Utf8Sequence seq = utf8_next(rest);
    if (seq.kind != Utf8Sequence::valid) {
      out.append(rest.substr(0, seq.length));
    } else {
      append_lowercase(seq.code_point, [&](char32_t lower) { append_utf8(out, lower); });
    }
    rest.remove_prefix(seq.length);
  }
  return out;
}

// Replace: every match of the pattern, {"String": s} or {"Regex": r}, becomes `content`.
Normalizer replace(const nlohmann::json& spec, const std::string& where) {
  const auto pattern = spec.find("pattern");
  GENRT_CHECK(pattern != spec.end() && pattern->is_object(), "{}: Replace needs a 'pattern' object", where);
  const std::string to = spec.at("content").get<std::string>();
  if (pattern->contains("Regex")) {
    const auto regex = std::make_shared<Regex>((*pattern)["Regex"].get<std::string>(), where);
    return [regex, to](std::string text) {
      std::string out;
      size_t cursor = 0;
      for (const auto& [begin, end] : regex->find_all(text)) {
        out.append(text, cursor, begin - cursor).append(to);
        cursor = end;
      }
      return out.append(text, cursor);
    };
  }
  GENRT_CHECK(pattern->contains("String") && (*pattern)["String"].is_string(),
              "{}: Replace pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}", where);
  const std::string from = (*pattern)["String"].get<std::string>();
  return [from, to](std::string text) { return replace_all(text, from, to); };
}

}  // namespace

Normalizer make_normalizer(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return [](std::string text) { return text; };
  GENRT_CHECK(spec.is_object() && spec.contains("type"), "{}: normalizer needs a 'type'", where);
  const std::string type = spec["type"].get<std::string>();
  const std::string at = where + ": normalizer " + type;
  if (type == "Sequence") {
    std::vector<Normalizer> steps;
    for (const auto& step : spec.at("normalizers")) steps.push_back(make_normalizer(step, where));
    return [steps](std::string text) {
      for (const auto& step : steps) text = step(std::move(text));
      return text;
    };
  }
  if (type == "BertNormalizer") return make_bert_normalizer(spec);
  if (type == "Prepend") {
    const std::string prefix = spec.at("prepend").get<std::string>();
    return [prefix](std::string text) { return text.empty() ? text : prefix + text; };
  }
  if (type == "Replace") return replace(spec, at);
  if (type == "NFC") return unicode_form(UTF8PROC_COMPOSE);
  if (type == "NFD") return unicode_form(UTF8PROC_DECOMPOSE);
  if (type == "NFKC") return unicode_form(static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
  if (type == "NFKD") return unicode_form(static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT));
  if (type == "Lowercase") return lowercase;
  if (type == "Precompiled") {
    const auto blob = spec.find("precompiled_charsmap");
    GENRT_CHECK(blob != spec.end() && blob->is_string() && !blob->get<std::string>().empty(),
                "{}: needs a 'precompiled_charsmap' (base64)", at);
    const auto charsmap = std::make_shared<const PrecompiledCharsmap>(base64_decode(blob->get<std::string>(), at), at);
    return [charsmap](std::string text) { return charsmap->normalize(text); };
  }
  if (type == "Strip") {
    const bool left = spec.value("strip_left", true), right = spec.value("strip_right", true);
    return [left, right](std::string text) {
      const char* ws = " \t\n\r\f\v";
      if (right) text.erase(text.find_last_not_of(ws) + 1);
      if (left) text.erase(0, std::min(text.find_first_not_of(ws), text.size()));
      return text;
    };
  }
  fail("{}: normalizer type '{}' is not supported", where, type);
}

}  // namespace genrt
