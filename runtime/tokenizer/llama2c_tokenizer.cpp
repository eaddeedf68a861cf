#include "runtime/tokenizer/llama2c_tokenizer.h"

#include <cstring>

#include "runtime/core/error.h"
#include "runtime/core/utf8.h"
#include "runtime/io/mapped_file.h"
#include "runtime/tokenizer/token_text.h"

namespace genrt {

namespace {

constexpr int32_t kBos = 1;
constexpr int32_t kEos = 2;
constexpr int32_t kUnknown = 0;

}  // namespace

Llama2cTokenizer::Llama2cTokenizer(std::vector<std::string> pieces, std::vector<float> scores)
    : pieces_(std::move(pieces)), scores_(std::move(scores)) {
  byte_ids_.fill(-1);
  for (size_t id = 0; id < pieces_.size(); ++id) {
    ids_.emplace(pieces_[id], static_cast<int32_t>(id));
    const int byte = parse_byte_token(pieces_[id]);
    if (byte >= 0 && byte_ids_[byte] < 0) byte_ids_[byte] = static_cast<int32_t>(id);
  }
}

Llama2cTokenizer Llama2cTokenizer::from_pieces(std::vector<std::string> pieces,
                                               std::vector<float> scores) {
  GENRT_CHECK(pieces.size() == scores.size(), "tokenizer: {} pieces but {} scores", pieces.size(),
              scores.size());
  GENRT_CHECK(pieces.size() > 2, "tokenizer: needs at least <unk>, <s> and </s>");
  return Llama2cTokenizer(std::move(pieces), std::move(scores));
}

Llama2cTokenizer Llama2cTokenizer::open(const std::filesystem::path& path, int64_t vocab_size) {
  const auto file = MappedFile::open(path);
  const std::string where = path.string();
  const unsigned char* data = file->data();
  const size_t size = file->size();
  size_t offset = 0;
  auto read_i32 = [&](const char* what, int64_t token) {
    GENRT_CHECK(offset + 4 <= size, "{}: file ends inside the {} of token {} (of {} expected)",
                where, what, token, vocab_size);
    int32_t v;
    std::memcpy(&v, data + offset, 4);
    offset += 4;
    return v;
  };
  const int32_t max_token_length = read_i32("header", -1);
  GENRT_CHECK(max_token_length > 0, "{}: max_token_length {} must be positive", where,
              max_token_length);
  std::vector<std::string> pieces;
  std::vector<float> scores;
  for (int64_t id = 0; id < vocab_size; ++id) {
    float score;
    const int32_t bits = read_i32("score", id);
    std::memcpy(&score, &bits, 4);
    const int32_t length = read_i32("length", id);
    GENRT_CHECK(length >= 0 && length <= max_token_length,
                "{}: token {} has length {}, outside [0, max_token_length {}]", where, id, length,
                max_token_length);
    GENRT_CHECK(offset + static_cast<size_t>(length) <= size,
                "{}: file ends inside the text of token {}", where, id);
    pieces.emplace_back(reinterpret_cast<const char*>(data + offset), static_cast<size_t>(length));
    scores.push_back(score);
    offset += static_cast<size_t>(length);
  }
  GENRT_CHECK(offset == size,
              "{}: {} bytes left after {} tokens: the model's vocabulary is smaller than this "
              "tokenizer's",
              where, size - offset, vocab_size);
  return from_pieces(std::move(pieces), std::move(scores));
}

std::vector<int32_t> Llama2cTokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> tokens;
  if (add_special) tokens.push_back(kBos);
  if (text.empty()) return tokens;

  // One token per UTF-8 character of " " + text (SentencePiece's dummy prefix).
  std::string input;
  input.reserve(text.size() + 1);
  input.append(" ").append(text);
  std::vector<int32_t> symbols;
  for (size_t i = 0; i < input.size();) {
    const Utf8Sequence seq = utf8_next(std::string_view(input).substr(i));
    const size_t length = seq.kind == Utf8Sequence::valid ? seq.length : 1;  // else one raw byte
    const auto it = ids_.find(input.substr(i, length));
    if (it != ids_.end()) {
      symbols.push_back(it->second);
    } else {
      for (size_t b = 0; b < length; ++b) {
        const int32_t id = byte_ids_[static_cast<unsigned char>(input[i + b])];
        symbols.push_back(id >= 0 ? id : kUnknown);
      }
    }
    i += length;
  }

  // Merge the best-scoring adjacent pair until no pair forms a piece. O(n^2) like
  // SentencePiece's reference BPE; prompts are short next to the model's cost.
  for (;;) {
    float best_score = -INFINITY;
    int32_t best_id = -1;
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const auto it = ids_.find(pieces_[symbols[i]] + pieces_[symbols[i + 1]]);
      if (it != ids_.end() && scores_[it->second] > best_score) {
        best_score = scores_[it->second];
        best_id = it->second;
        best_at = i;
      }
    }
    if (best_id < 0) break;
    symbols[best_at] = best_id;
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best_at) + 1);
  }
  tokens.insert(tokens.end(), symbols.begin(), symbols.end());
  return tokens;
}

std::string Llama2cTokenizer::token_text(int32_t id) const {
  GENRT_CHECK(id >= 0 && id < vocab_size(), "token id {} is outside the vocabulary [0, {})", id, vocab_size());
  return pieces_[id];
}

bool Llama2cTokenizer::is_special(int32_t id) const { return id == kBos || id == kEos; }

std::string Llama2cTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string text;
  int32_t previous = -1;
  for (int32_t id : ids) {
    GENRT_CHECK(id >= 0 && id < vocab_size(), "token id {} is outside the vocabulary [0, {})", id, vocab_size());
    const std::string& piece = pieces_[id];
    const int byte = parse_byte_token(piece);
    if (skip_special && is_special(id)) {
      // control tokens are not text
    } else if (byte >= 0) {
      text.push_back(static_cast<char>(byte));
    } else if ((previous == kBos || previous < 0) && !piece.empty() && piece[0] == ' ') {
      text.append(piece, 1);
    } else {
      text.append(piece);
    }
    previous = id;
  }
  return text;
}

}  // namespace genrt
