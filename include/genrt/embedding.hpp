// genrt C++ API for embeddings: load a BERT or RoBERTa encoder folder and turn texts into
// sentence embeddings, pooled as its sentence-transformers config says (else the mean).
//
// Self-contained like genrt.hpp (which it includes for Error and LoadOptions).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "genrt/genrt.hpp"

namespace genrt::api {

struct EmbeddingModelInfo {
  std::string architecture;  // BertModel, BertForMaskedLM, RobertaModel, RobertaForMaskedLM
  int64_t dimensions = 0;    // floats per embedding
  int64_t context_length = 0;  // tokens per text, special tokens included
  std::string pooling;       // "cls", "mean" or "last"
  bool normalized = false;   // unit length
};

class GENRT_API EmbeddingModel {
 public:
  // A folder with config.json, safetensors and tokenizer.json (and modules.json).
  static EmbeddingModel load(const std::string& path, const LoadOptions& options = {});
  ~EmbeddingModel();
  EmbeddingModel(EmbeddingModel&&) noexcept;
  EmbeddingModel& operator=(EmbeddingModel&&) noexcept;

  EmbeddingModelInfo info() const;
  // One embedding of info().dimensions floats per text, in order; a text over the context
  // is an invalid_argument error naming it.
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) const;

 private:
  struct Impl;
  explicit EmbeddingModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace genrt::api
