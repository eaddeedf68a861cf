#pragma once
// Sentence embeddings from a text model, whatever its shape: an encoder (BERT, RoBERTa,
// XLM-R) pooled as its sentence-transformers config says, or a decoder (Llama, Qwen2,
// Mistral, GPT-2, OPT) pooled at its last token, as decoder-based embedding models are
// (gte-Qwen2, e5-mistral: their tokenizers end each text with the EOS the pooling reads).

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "runtime/models/bert/bert_model.h"
#include "runtime/models/bert/pooling.h"
#include "runtime/models/causal_lm.h"

namespace genrt {

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual const std::string& architecture() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t context_length() const = 0;  // tokens per input, special tokens included
  virtual int64_t dimensions() const = 0;      // floats per embedding
  virtual const Pooling& pooling() const = 0;
  // One embedding per input (token ids, each within the vocabulary and the context), in
  // order. Inputs run together, as many a forward as the model's step holds.
  virtual std::vector<std::vector<float>> embed(std::span<const std::vector<int32_t>> inputs) = 0;
};

std::unique_ptr<Embedder> encoder_embedder(BertModel model, Pooling pooling);

// A decoder's embeddings: the final hidden state (after the final norm) of each input's
// last token, normalized when `pooling` says so. Any other pooling mode, and an
// encoder-decoder, are errors saying why. `options` are those the model was loaded with:
// they bound a forward's tokens and sequences. The embedder takes the model's KV cache
// (on the GPU the planned pool), each forward's blocks going back to it after.
std::unique_ptr<Embedder> decoder_embedder(std::unique_ptr<CausalLM> model, Pooling pooling,
                                           const DeviceOptions& options);

}  // namespace genrt
