#pragma once
// tokenizer.json "decoder": turns token strings back into text bytes. Supported:
// Sequence, ByteLevel, Replace (string patterns), ByteFallback, Fuse, Strip, Metaspace,
// WordPiece (bert_text.h).
// Any other type is an error that names it. The result is raw bytes: invalid UTF-8 is
// left for the caller (utf8_lossy, or Utf8Stream when streaming).

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace genrt {

// Rewrites the list of token strings in place (Fuse joins them into one).
using Decoder = std::function<void(std::vector<std::string>& tokens)>;

// A no-op for null (the tokens are then simply concatenated).
Decoder make_decoder(const nlohmann::json& spec, const std::string& where);

}  // namespace genrt
