#include "runtime/tokenizer/llama2c_tokenizer.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "runtime/core/error.h"
#include "runtime/core/utf8.h"
#include "runtime/io/mapped_file.h"

namespace genrt {

namespace {

constexpr int32_t kBos = 1;
constexpr int32_t kEos = 2;
constexpr int32_t kUnknown = 0;

// "<0xNN>" with two hex digits -> the byte; anything else -> -1.
int parse_byte_piece(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  int value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = piece[i];
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

}  // namespace

Llama2cTokenizer::Llama2cTokenizer(std::vector<std::string> pieces, std::vector<float> scores)
    : pieces_(std::move(pieces)), scores_(std::move(scores)) {
  byte_ids_.fill(-1);
  for (size_t id = 0; id < pieces_.size(); ++id) {
    ids_.emplace(pieces_[id], static_cast<int32_t>(id));
    const int byte = parse_byte_piece(pieces_[id]);
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

void Llama2cTokenizer::save(const std::filesystem::path& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  GENRT_CHECK(out.good(), "cannot create {}", path.string());
  auto write_i32 = [&](int32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  size_t max_length = 1;
  for (const std::string& p : pieces_) max_length = std::max(max_length, p.size());
  write_i32(static_cast<int32_t>(max_length));
  for (size_t id = 0; id < pieces_.size(); ++id) {
    out.write(reinterpret_cast<const char*>(&scores_[id]), 4);
    write_i32(static_cast<int32_t>(pieces_[id].size()));
    out.write(pieces_[id].data(), static_cast<std::streamsize>(pieces_[id].size()));
  }
  GENRT_CHECK(out.good(), "error writing {}", path.string());
}

std::vector<int32_t> Llama2cTokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> tokens;
  if (add_bos) tokens.push_back(kBos);
  if (text.empty()) return tokens;

  // One token per UTF-8 character of " " + text (SentencePiece's dummy prefix).
  std::string input;
  input.reserve(text.size() + 1);
  input.append(" ").append(text);
  std::vector<int32_t> symbols;
  for (size_t i = 0; i < input.size();) {
    size_t length = utf8_valid_prefix(std::string_view(input).substr(i));
    if (length == 0 || length == std::string_view::npos) length = 1;  // invalid: one raw byte
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

std::string Llama2cTokenizer::decode_token(int32_t previous, int32_t token) const {
  GENRT_CHECK(token >= 0 && token < vocab_size(), "token id {} is outside the vocabulary [0, {})",
              token, vocab_size());
  if (token == kBos || token == kEos) return "";  // control tokens are not text
  const std::string& piece = pieces_[token];
  const int byte = parse_byte_piece(piece);
  if (byte >= 0) return std::string(1, static_cast<char>(byte));
  // SentencePiece drops the dummy-prefix space of the first word after BOS (or at the start).
  if ((previous == kBos || previous < 0) && !piece.empty() && piece[0] == ' ') {
    return piece.substr(1);
  }
  return piece;
}

}  // namespace genrt
