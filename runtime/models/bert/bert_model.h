#pragma once
// BERT and RoBERTa encoders on genrt's op entries: word + position + token-type
// embeddings and a LayerNorm, then post-LayerNorm blocks of non-causal attention and a
// GELU MLP; the masked-LM head (dense, GELU, LayerNorm, the tied word embedding and a
// bias) when the checkpoint has one. A forward encodes sequences of one length together
// (encode_batch groups them), so no padding mask is needed.

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "runtime/models/bert/bert_config.h"
#include "runtime/models/blocks/linear.h"
#include "runtime/models/blocks/norms.h"
#include "runtime/models/causal_lm.h"
#include "runtime/models/named_weights.h"

namespace genrt {

// Members are named like the checkpoint's modules ([bert.|roberta.]encoder.layer.N.<name>).
struct BertEmbeddings {
  Tensor word_embeddings;        // [vocab, hidden]; also the masked-LM decoder
  Tensor position_embeddings;    // [max_position_embeddings, hidden]
  Tensor token_type_embeddings;  // [type_vocab_size, hidden]
  blocks::LayerNorm LayerNorm;
};

struct BertSelfAttention {
  blocks::Linear query_key_value;  // [3 hidden, hidden]: query, key and value fused
};

struct BertDenseLayerNorm {  // attention.output and output: dense, then LayerNorm(dense + residual)
  blocks::Linear dense;
  blocks::LayerNorm LayerNorm;
};

struct BertAttention {
  BertSelfAttention self;
  BertDenseLayerNorm output;  // dense [hidden, hidden]
};

struct BertLayerWeights {
  BertAttention attention;
  blocks::Linear intermediate_dense;  // intermediate.dense [intermediate, hidden]
  BertDenseLayerNorm output;          // dense [hidden, intermediate]
};

// BERT's cls.predictions (transform.dense, transform.LayerNorm, bias) or RoBERTa's lm_head
// (dense, layer_norm, bias); the decoder's weight is the word embedding.
struct BertMlmHead {
  blocks::Linear dense;  // [hidden, hidden]
  blocks::LayerNorm layer_norm;
  Tensor bias;  // [vocab]
};

struct BertWeights {
  BertEmbeddings embeddings;
  std::vector<BertLayerWeights> layer;  // encoder.layer
  BertMlmHead mlm_head;                 // only when config.has_mlm_head()
};

// The encoder's weights by checkpoint name under `encoder_prefix` ("bert.", "roberta." or
// ""), and the masked-LM head's (when the config has one), sizing `weights.layer`.
NamedWeights bert_named_weights(const BertConfig& config, BertWeights& weights, const std::string& encoder_prefix);

class BertModel {
 public:
  BertModel(BertConfig config, BertWeights weights, std::string encoder_prefix);
  ~BertModel();
  BertModel(BertModel&&) noexcept;

  const BertConfig& config() const { return config_; }

  // Tokens one forward takes: options.max_step_tokens on the GPU (0: kDefaultStepTokens,
  // at least a context), a context on the CPU.
  static constexpr int64_t kDefaultStepTokens = 8192;

  // What the model asks of a GPU's DeviceRuntime with `options`: its weights and the
  // workspace of a forward of step_tokens() tokens.
  MemoryRequest memory_request(const DeviceOptions& options) const;
  // Moves the weights into `runtime`, which planned memory_request(options).
  void place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options);
  DeviceRuntime* device_runtime() const { return runtime_.get(); }

  // The last hidden states [tokens, hidden] (host f32) of one sequence of token ids, every
  // token of type 0.
  Tensor encode(std::span<const int32_t> ids) const;
  // The same for several sequences, in order: those of equal length run as one batch of
  // at most step_tokens() tokens.
  std::vector<Tensor> encode_batch(std::span<const std::vector<int32_t>> sequences) const;
  int64_t step_tokens() const;
  // The masked-LM logits [tokens, vocab] (host f32) of one sequence; needs the MLM head.
  Tensor mlm_logits(std::span<const int32_t> ids) const;

 private:
  struct Activations;
  template <class Alloc>
  Activations allocate_activations(int64_t tokens, bool head, DType dtype, Alloc& alloc) const;
  // ids: `batch` sequences of equal length, one after another; the hidden states (or the
  // logits) of all their tokens.
  Tensor forward(std::span<const int32_t> ids, int64_t batch, bool head) const;
  int64_t step_tokens(const DeviceOptions& options) const;

  BertConfig config_;
  BertWeights weights_;
  std::string encoder_prefix_;
  std::shared_ptr<DeviceRuntime> runtime_;
  DeviceOptions options_;
};

// Loads config.json + safetensors of a BERT or RoBERTa directory onto `device`. Encoder
// tensors may carry the "bert." / "roberta." prefix (the *ForMaskedLM saves) or none.
BertModel load_bert(const std::filesystem::path& dir, const DeviceOptions& device = {});

}  // namespace genrt
