#include "runtime/tokenizer/decoder.h"

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/tokenizer/bert_text.h"
#include "runtime/core/utf8.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/token_text.h"

namespace genrt {

Decoder make_decoder(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) {  // none: the tokenizers library joins the tokens with spaces
    return [](std::vector<std::string>& tokens) {
      std::string joined;
      for (size_t i = 0; i < tokens.size(); ++i) joined += (i == 0 ? "" : " ") + tokens[i];
      tokens = {std::move(joined)};
    };
  }
  GENRT_CHECK(spec.is_object() && spec.contains("type"), "{}: decoder needs a 'type'", where);
  const std::string type = spec["type"].get<std::string>();
  const std::string at = where + ": decoder " + type;
  if (type == "Sequence") {
    std::vector<Decoder> steps;
    for (const auto& step : spec.at("decoders")) steps.push_back(make_decoder(step, where));
    return [steps](std::vector<std::string>& tokens) {
      for (const auto& step : steps) step(tokens);
    };
  }
  if (type == "WordPiece") return make_wordpiece_decoder(spec);
  if (type == "ByteLevel") {
    // Every character of the map becomes its byte; others (in added tokens) stay as they are.
    return [](std::vector<std::string>& tokens) {
      std::string bytes;
      for (const std::string& token : tokens) {
        std::string_view rest = token;
        while (!rest.empty()) {
          const Utf8Sequence seq = utf8_next(rest);
          const auto byte = seq.kind == Utf8Sequence::valid ? unicode_to_byte(seq.code_point) : std::nullopt;
          if (byte) {
            bytes.push_back(static_cast<char>(*byte));
          } else {
            bytes.append(rest.substr(0, seq.length));
          }
          rest.remove_prefix(seq.length);
        }
      }
      tokens = {bytes};
    };
  }
  if (type == "Replace") {
    const auto& pattern = spec.at("pattern");
    GENRT_CHECK(pattern.contains("String"), "{}: only string patterns are supported", at);
    const std::string from = pattern["String"].get<std::string>(), to = spec.at("content").get<std::string>();
    return [from, to](std::vector<std::string>& tokens) {
      for (std::string& t : tokens) t = replace_all(t, from, to);
    };
  }
  if (type == "ByteFallback") {
    return [](std::vector<std::string>& tokens) {
      for (std::string& t : tokens) {
        const int b = parse_byte_token(t);
        if (b >= 0) t = std::string(1, static_cast<char>(b));
      }
    };
  }
  if (type == "Fuse") {
    return [](std::vector<std::string>& tokens) {
      std::string joined;
      for (const std::string& t : tokens) joined += t;
      tokens = {joined};
    };
  }
  if (type == "Strip") {
    const std::string content = spec.at("content").get<std::string>();
    const auto start = spec.at("start").get<size_t>(), stop = spec.at("stop").get<size_t>();
    return [content, start, stop](std::vector<std::string>& tokens) {
      for (std::string& t : tokens) {
        for (size_t i = 0; i < start && t.compare(0, content.size(), content) == 0; ++i) t.erase(0, content.size());
        for (size_t i = 0; i < stop && t.size() >= content.size() &&
                           t.compare(t.size() - content.size(), content.size(), content) == 0;
             ++i) {
          t.erase(t.size() - content.size());
        }
      }
    };
  }
  if (type == "Metaspace") {
    const std::string replacement = spec.value("replacement", "\u2581");
    std::string scheme = spec.value("prepend_scheme", "");
    if (scheme.empty()) scheme = spec.value("add_prefix_space", true) ? "always" : "never";
    const bool strip_first = scheme != "never";
    return [replacement, strip_first](std::vector<std::string>& tokens) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = replace_all(tokens[i], replacement, " ");
        if (i == 0 && strip_first && !tokens[i].empty() && tokens[i][0] == ' ') tokens[i].erase(0, 1);
      }
    };
  }
  fail("{}: decoder type '{}' is not supported", where, type);
}

}  // namespace genrt
