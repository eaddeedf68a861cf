#pragma once
// What `genrt embed`, `genrt fill-mask` and `genrt serve` share: an encoder folder opened on
// the device the flags name, with its tokenizer.json; and a text model opened to embed.

#include <memory>
#include <string>

#include "runtime/models/bert/bert_model.h"
#include "runtime/models/embedder.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "tools/genrt/common.h"

namespace genrt::cli {

struct LoadedEncoder {
  BertModel model;
  HfTokenizer tokenizer;
};

LoadedEncoder load_encoder(const std::string& model_dir, const DeviceFlags& device);

// Whether `model` is a folder whose config.json names a BERT or RoBERTa encoder.
bool is_encoder(const std::string& model);

struct LoadedEmbedder {
  std::unique_ptr<Embedder> embedder;
  std::unique_ptr<Tokenizer> tokenizer;
};

// --embedding-pooling: how the tokens' hidden states become one embedding.
void add_embedding_pooling_option(CLI::App* cmd, std::string& pooling, const std::string& help);

// An encoder, or a decoder that load_model opens, to embed texts with its tokenizer (or
// `tokenizer_path`'s): pooled by `pooling` (--embedding-pooling: cls, mean or last) when
// given, else as the folder's sentence-transformers config says (else the mean). A decoder
// pools its last token only.
LoadedEmbedder load_embedder(const std::string& model_dir, const std::string& tokenizer_path,
                             const std::string& pooling, const DeviceFlags& device);

// The text's ids with the tokenizer's special tokens ([CLS] ... [SEP]), within `context`.
std::vector<int32_t> encode_within(const Tokenizer& tokenizer, const std::string& text, int64_t context);

}  // namespace genrt::cli
