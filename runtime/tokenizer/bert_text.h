#pragma once
// BERT's text rules in a tokenizer.json, as the `tokenizers` library applies them:
//   normalizer BertNormalizer: drop NUL, U+FFFD and other/control characters (Cc, Cf, Co,
//     Cn, Cs but tab, newline and carriage return), turn white space into ' ', put spaces
//     around CJK ideographs, strip accents (NFD, then drop Mn), lower-case each character;
//     each step per the config (strip_accents null follows lowercase)
//   pre_tokenizer BertPreTokenizer: split at white space (dropped) and around every
//     punctuation character (ASCII punctuation and Unicode P*)
//   decoder WordPiece: join "##" continuations to the token before, others with a space,
//     then (with cleanup) undo the spaces English puts no space before

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "runtime/tokenizer/decoder.h"
#include "runtime/tokenizer/normalizer.h"
#include "runtime/tokenizer/pre_tokenizer.h"

namespace genrt {

Normalizer make_bert_normalizer(const nlohmann::json& spec);
PreTokenizer make_bert_pre_tokenizer();
Decoder make_wordpiece_decoder(const nlohmann::json& spec);

}  // namespace genrt
