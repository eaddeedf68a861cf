#pragma once
// llama2.c checkpoints (the legacy "version 0" export): a header of 7 int32
//   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
// (a negative vocab_size means the classifier is not shared with the embedding), then
// fp32 weights in a fixed order, each matrix stored [out_features, in_features].

#include <cstdint>
#include <filesystem>
#include <memory>

#include "runtime/core/tensor.h"
#include "runtime/io/mapped_file.h"

namespace genrt {

struct Llama2cHeader {
  int64_t dim = 0;
  int64_t hidden_dim = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t vocab_size = 0;
  int64_t seq_len = 0;
  bool shared_classifier = true;

  int64_t head_size() const { return dim / n_heads; }
};

// Views into the mapped file, named as in llama2.c's TransformerWeights.
struct Llama2cWeights {
  Tensor token_embedding_table;  // [vocab, dim]
  Tensor rms_att_weight;         // [layers, dim]
  Tensor wq;                     // [layers, n_heads * head_size, dim]
  Tensor wk;                     // [layers, n_kv_heads * head_size, dim]
  Tensor wv;                     // [layers, n_kv_heads * head_size, dim]
  Tensor wo;                     // [layers, dim, n_heads * head_size]
  Tensor rms_ffn_weight;         // [layers, dim]
  Tensor w1;                     // [layers, hidden_dim, dim]   (gate)
  Tensor w2;                     // [layers, dim, hidden_dim]   (down)
  Tensor w3;                     // [layers, hidden_dim, dim]   (up)
  Tensor rms_final_weight;       // [dim]
  Tensor wcls;                   // [vocab, dim]; the embedding table when shared
};

class Llama2cCheckpoint {
 public:
  // Validates the header (positive dimensions, heads dividing dim, KV heads dividing
  // heads) and that the file is exactly as long as the header implies, with all size
  // arithmetic overflow-checked.
  static Llama2cCheckpoint open(const std::filesystem::path& path);
  static Llama2cCheckpoint parse(std::shared_ptr<const MappedFile> file);

  const Llama2cHeader& header() const { return header_; }
  const Llama2cWeights& weights() const { return weights_; }
  const std::filesystem::path& path() const { return file_->path(); }

 private:
  std::shared_ptr<const MappedFile> file_;
  Llama2cHeader header_;
  Llama2cWeights weights_;
};

}  // namespace genrt
