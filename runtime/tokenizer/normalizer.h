#pragma once
// tokenizer.json "normalizer": the text rewrite applied before pre-tokenization.
// Supported: Sequence, Prepend, Replace (string or regex patterns), NFC, NFD, NFKC, NFKD,
// Lowercase, Strip, BertNormalizer (bert_text.h), Precompiled (SentencePiece's charsmap,
// precompiled_charsmap.h). Any other type is an error that names it.

#include <functional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace genrt {

using Normalizer = std::function<std::string(std::string)>;

// The identity for null.
Normalizer make_normalizer(const nlohmann::json& spec, const std::string& where);

}  // namespace genrt
