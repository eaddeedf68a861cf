#include "runtime/io/llama2c_checkpoint.h"

#include <cstring>
#include <limits>

namespace genrt {

namespace {

constexpr int32_t kVersionedMagic = 0x616b3432;  // "ak42": llama2.c export versions 1 and 2

int64_t checked_mul(int64_t a, int64_t b, const std::string& where) {
  int64_t out = 0;
  GENRT_CHECK(!__builtin_mul_overflow(a, b, &out), "{}: header dimensions overflow 64-bit sizes",
              where);
  return out;
}

int64_t checked_add(int64_t a, int64_t b, const std::string& where) {
  int64_t out = 0;
  GENRT_CHECK(!__builtin_add_overflow(a, b, &out), "{}: header dimensions overflow 64-bit sizes",
              where);
  return out;
}

}  // namespace

Llama2cCheckpoint Llama2cCheckpoint::open(const std::filesystem::path& path) { return parse(MappedFile::open(path)); }

Llama2cCheckpoint Llama2cCheckpoint::parse(std::shared_ptr<const MappedFile> file) {
  Llama2cCheckpoint ckpt;
  ckpt.file_ = std::move(file);
  const std::string where = ckpt.file_->path().string();
  constexpr size_t kHeaderBytes = 7 * sizeof(int32_t);
  GENRT_CHECK(ckpt.file_->size() >= kHeaderBytes,
              "{}: file is {} bytes, too short for the 28-byte llama2.c header", where,
              ckpt.file_->size());
  int32_t raw[7];
  std::memcpy(raw, ckpt.file_->data(), kHeaderBytes);
  GENRT_CHECK(raw[0] != kVersionedMagic,
              "{}: this is a versioned llama2.c export (magic 'ak42'); genrt reads the legacy "
              "format (export.py --version 0)",
              where);

  Llama2cHeader& h = ckpt.header_;
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size",
                          "seq_len"};
  for (int i = 0; i < 7; ++i) {
    // vocab_size may be negative (its sign flags an unshared classifier), but never 0 or INT_MIN.
    const bool ok = i == 5 ? raw[i] != 0 && raw[i] != std::numeric_limits<int32_t>::min() : raw[i] > 0;
    GENRT_CHECK(ok, "{}: header field {} = {} must be positive", where, names[i], raw[i]);
  }
  h.dim = raw[0];
  h.hidden_dim = raw[1];
  h.n_layers = raw[2];
  h.n_heads = raw[3];
  h.n_kv_heads = raw[4];
  h.shared_classifier = raw[5] > 0;
  h.vocab_size = raw[5] > 0 ? raw[5] : -static_cast<int64_t>(raw[5]);
  h.seq_len = raw[6];
  GENRT_CHECK(h.dim % h.n_heads == 0, "{}: dim {} is not divisible by n_heads {}", where, h.dim,
              h.n_heads);
  GENRT_CHECK(h.n_heads % h.n_kv_heads == 0, "{}: n_heads {} is not divisible by n_kv_heads {}",
              where, h.n_heads, h.n_kv_heads);
  GENRT_CHECK(h.head_size() % 2 == 0, "{}: head size {} must be even for rotary embeddings", where,
              h.head_size());

  const int64_t layers = h.n_layers, dim = h.dim, hidden = h.hidden_dim;
  const int64_t q_dim = h.n_heads * h.head_size();
  const int64_t kv_dim = h.n_kv_heads * h.head_size();
  const Shape shapes[] = {
      {h.vocab_size, dim}, {layers, dim},         {layers, q_dim, dim},  {layers, kv_dim, dim},
      {layers, kv_dim, dim}, {layers, dim, q_dim}, {layers, dim},        {layers, hidden, dim},
      {layers, dim, hidden}, {layers, hidden, dim}, {dim},
      // freq_cis_real and freq_cis_imag: precomputed rope tables, unused (genrt computes its own)
      {h.seq_len, h.head_size() / 2}, {h.seq_len, h.head_size() / 2},
      {h.shared_classifier ? 0 : h.vocab_size, dim}};
  int64_t offset = kHeaderBytes;
  std::vector<Tensor> views;
  for (const Shape& shape : shapes) {
    int64_t numel = 1;
    for (int64_t d : shape) numel = checked_mul(numel, d, where);
    const int64_t bytes = checked_mul(numel, sizeof(float), where);
    const int64_t end = checked_add(offset, bytes, where);
    if (end <= static_cast<int64_t>(ckpt.file_->size())) {
      auto* data = const_cast<unsigned char*>(ckpt.file_->data()) + offset;
      views.push_back(Tensor::view_of(data, shape, DType::f32, ckpt.file_));
    }
    offset = end;
  }
  GENRT_CHECK(offset == static_cast<int64_t>(ckpt.file_->size()),
              "{}: file is {} bytes, but its header (dim {}, hidden_dim {}, {} layers, {} heads, "
              "{} kv heads, vocab {}, seq_len {}, {} classifier) implies {}",
              where, ckpt.file_->size(), h.dim, h.hidden_dim, h.n_layers, h.n_heads, h.n_kv_heads,
              h.vocab_size, h.seq_len, h.shared_classifier ? "shared" : "separate", offset);

  Llama2cWeights& w = ckpt.weights_;
  Tensor* fields[] = {&w.token_embedding_table, &w.rms_att_weight, &w.wq, &w.wk, &w.wv, &w.wo,
                      &w.rms_ffn_weight, &w.w1, &w.w2, &w.w3, &w.rms_final_weight};
  for (size_t i = 0; i < std::size(fields); ++i) *fields[i] = views[i];
  w.wcls = h.shared_classifier ? w.token_embedding_table : views.back();
  return ckpt;
}

}  // namespace genrt
