#pragma once
// tokenizer.json "pre_tokenizer": cuts normalized text into words before BPE. Supported:
// Sequence, Split (regex or string, Isolated / Removed / MergedWithPrevious /
// MergedWithNext, invert), ByteLevel (GPT-2's regex and byte-to-unicode spelling),
// Metaspace, Digits, BertPreTokenizer (bert_text.h). Any other type is an error that names it.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace genrt {

// Splits each piece further. `first_segment`: the text starts the input (Metaspace's
// prepend_scheme "first" prefixes only that one).
using PreTokenizer = std::function<void(std::vector<std::string>& pieces, bool first_segment)>;

// A no-op for null.
PreTokenizer make_pre_tokenizer(const nlohmann::json& spec, const std::string& where);

}  // namespace genrt
