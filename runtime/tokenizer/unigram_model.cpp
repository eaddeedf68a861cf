#include "runtime/tokenizer/unigram_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/core/utf8.h"
#include "runtime/tokenizer/bpe_model.h"

namespace genrt {

namespace {

// SentencePiece's (and tokenizers') penalty of the unknown token below the least likely piece.
constexpr double kUnknownPenalty = 10.0;

}  // namespace

UnigramModel UnigramModel::from_json(const nlohmann::json& model, const std::string& where_file) {
  const std::string where = where_file + ": model";
  GENRT_CHECK(model.is_object() && model.value("type", "") == "Unigram", "{} is not a Unigram model", where);
  UnigramModel u;
  u.byte_fallback_ = model.value("byte_fallback", false);
  const auto vocab = model.find("vocab");
  GENRT_CHECK(vocab != model.end() && vocab->is_array(), "{}: missing 'vocab' list of [piece, score]", where);
  double min_score = std::numeric_limits<double>::infinity();
  for (const auto& entry : *vocab) {
    GENRT_CHECK(entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_number(),
                "{}: vocab entry {} is not [piece, score]", where, entry.dump());
    std::string piece = entry[0].get<std::string>();
    const double score = entry[1].get<double>();
    const auto id = static_cast<int32_t>(u.pieces_.size());
    GENRT_CHECK(piece.size() <= BpeModel::kMaxTokenBytes,
                "{}: a vocab entry of {} bytes is longer than the {}-byte limit", where, piece.size(),
                BpeModel::kMaxTokenBytes);
    GENRT_CHECK(std::isfinite(score), "{}: piece '{}' has score {}", where, piece, score);
    GENRT_CHECK(u.vocab_.emplace(piece, id).second, "{}: piece '{}' is listed twice", where, piece);
    u.max_piece_bytes_ = std::max(u.max_piece_bytes_, piece.size());
    min_score = std::min(min_score, score);
    u.pieces_.push_back(std::move(piece));
    u.scores_.push_back(score);
  }
  GENRT_CHECK(!u.pieces_.empty(), "{}: the vocabulary is empty", where);
  const auto unk = model.find("unk_id");
  GENRT_CHECK(unk != model.end() && unk->is_number_integer() && unk->get<int64_t>() >= 0 &&
                  unk->get<int64_t>() < u.id_bound(),
              "{}: unk_id {} is not an id of the vocabulary (Unigram needs it for characters no piece covers)",
              where, unk == model.end() ? "(missing)" : unk->dump());
  u.unk_id_ = unk->get<int32_t>();
  u.unk_score_ = min_score - kUnknownPenalty;
  if (u.byte_fallback_) {
    for (int byte = 0; byte < 256; ++byte) {
      GENRT_CHECK(u.vocab_.contains(fmt::format("<0x{:02X}>", byte)),
                  "{}: byte_fallback is set but the vocabulary has no <0x{:02X}> token", where, byte);
    }
  }
  return u;
}

void UnigramModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  // best[end]: the most likely segmentation of word[0, end), as its last piece's start and id.
  struct Node {
    double score = 0;
    size_t start = 0;
    int32_t id = -1;  // -1: no path ends here yet
  };
  std::vector<Node> best(word.size() + 1);
  best[0].id = 0;
  std::string candidate;
  for (size_t start = 0; start < word.size();) {
    const size_t char_len = utf8_next(word.substr(start)).length;
    const double here = best[start].score;
    bool covers_char = false;
    const size_t longest = std::min(max_piece_bytes_, word.size() - start);
    for (size_t len = 1; len <= longest; ++len) {
      candidate.assign(word.substr(start, len));
      const auto it = vocab_.find(candidate);
      if (it == vocab_.end()) continue;
      Node& node = best[start + len];
      const double score = here + scores_[it->second];
      if (node.id < 0 || score > node.score) node = {score, start, it->second};
      covers_char = covers_char || len == char_len;
    }
    if (!covers_char) {
      Node& node = best[start + char_len];
      const double score = here + unk_score_;
      if (node.id < 0 || score > node.score) node = {score, start, unk_id_};
    }
    start += char_len;
  }
  // Walk back; runs of unknown characters fuse into one piece.
  std::vector<std::string_view> pieces;
  size_t fused_end = std::string_view::npos;  // end of the unknown run being walked, if any
  for (size_t end = word.size(); end > 0;) {
    const Node& node = best[end];
    if (node.id == unk_id_) {
      if (fused_end == std::string_view::npos) fused_end = end;
    } else {
      if (fused_end != std::string_view::npos) pieces.push_back(word.substr(end, fused_end - end));
      fused_end = std::string_view::npos;
      pieces.push_back(word.substr(node.start, end - node.start));
    }
    end = node.start;
  }
  if (fused_end != std::string_view::npos) pieces.push_back(word.substr(0, fused_end));
  for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) append_piece(*it, out);
}

void UnigramModel::append_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (const auto it = vocab_.find(std::string(piece)); it != vocab_.end()) {
    out.push_back(it->second);
  } else if (byte_fallback_) {
    for (unsigned char byte : piece) out.push_back(vocab_.at(fmt::format("<0x{:02X}>", byte)));
  } else {
    out.push_back(unk_id_);
  }
}

std::optional<int32_t> UnigramModel::token_id(std::string_view token) const {
  const auto it = vocab_.find(std::string(token));
  return it == vocab_.end() ? std::nullopt : std::optional<int32_t>(it->second);
}

const std::string* UnigramModel::token(int32_t id) const {
  return id >= 0 && id < id_bound() ? &pieces_[static_cast<size_t>(id)] : nullptr;
}

}  // namespace genrt
