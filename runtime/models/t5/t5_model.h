#pragma once
// T5 (T5ForConditionalGeneration) as a text model of the engine: a sequence's prompt is the
// encoder's input and the decoder's start token (ModelSpec::decoder_start_token_id), its
// generated tokens the decoder's. The step that reads a prompt runs the encoder once and
// writes each decoder block's cross-attention keys and values of its output into the KV
// cache; decoder tokens then attend causally to their own keys (with the decoder's relative
// position bias) and to those. On the GPU the steps that decode replay a CUDA graph per
// batch size, as the decoder LMs' do (DecoderDevice). The cache's layers are each decoder
// block's self-attention, then its cross-attention (layer 2b and 2b + 1); a self layer
// holds decoder token j at position j, a cross layer encoder token i at position i, within
// the sequence's blocks.
//
// The same code runs on both devices: on the GPU in bf16 (fp16 is refused: T5's activations
// overflow it, which transformers clamps), from the step's planned workspace, the attention
// with the relative position bias in the warp kernels.

#include <filesystem>
#include <vector>

#include "runtime/models/blocks/linear.h"
#include "runtime/models/blocks/norms.h"
#include "runtime/models/causal_lm.h"
#include "runtime/models/decoder_device.h"
#include "runtime/models/t5/t5_config.h"

namespace genrt {

// Members are named like the checkpoint's modules (encoder.block.N.layer.M.<name>).
struct T5FeedForward {
  blocks::Linear wi;  // relu: wi [d_ff, d_model]; gated: wi_0 | wi_1 fused [2 d_ff, d_model]
  blocks::Linear wo;  // [d_model, d_ff]
};

struct T5EncoderBlock {
  blocks::RmsNorm attention_norm;  // layer.0.layer_norm
  blocks::Linear qkv;              // SelfAttention q | k | v [3 inner, d_model]
  blocks::Linear o;                // SelfAttention.o [d_model, inner]
  blocks::RmsNorm ff_norm;         // layer.1.layer_norm
  T5FeedForward ff;
};

struct T5DecoderBlock {
  blocks::RmsNorm self_norm;  // layer.0.layer_norm
  blocks::Linear self_qkv;    // SelfAttention q | k | v
  blocks::Linear self_o;
  blocks::RmsNorm cross_norm;  // layer.1.layer_norm
  blocks::Linear cross_q;      // EncDecAttention.q [inner, d_model]
  blocks::Linear cross_kv;     // EncDecAttention k | v [2 inner, d_model], of the encoder output
  blocks::Linear cross_o;
  blocks::RmsNorm ff_norm;  // layer.2.layer_norm
  T5FeedForward ff;
};

struct T5Weights {
  Tensor shared;        // [vocab, d_model]: both stacks' token embedding, and the tied LM head
  Tensor lm_head;       // [vocab, d_model] when not tied
  Tensor encoder_bias;  // encoder.block.0...relative_attention_bias [buckets, heads]
  Tensor decoder_bias;  // decoder.block.0...relative_attention_bias [buckets, heads]
  std::vector<T5EncoderBlock> encoder;
  blocks::RmsNorm encoder_norm;
  std::vector<T5DecoderBlock> decoder;
  blocks::RmsNorm decoder_norm;
};

// The weights of `config` by their checkpoint names, sizing the block lists to the config.
NamedWeights t5_named_weights(const T5Config& config, T5Weights& weights);

class T5Model final : public CausalLM {
 public:
  // Host weights (f32); place_on moves them to a device. A tied LM head's input scale
  // (d_model^-1/2) is folded into the decoder's final norm here.
  T5Model(T5Config config, T5Weights weights);
  ~T5Model() override;
  T5Model(T5Model&&) noexcept;

  const ModelSpec& spec() const override { return spec_; }
  const T5Config& config() const { return config_; }
  // Logits of each sequence's last token (all_tokens is refused, encoder tokens having
  // none, and so is last_token_hidden).
  Tensor forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const override;
  DeviceRuntime* device_runtime() const override { return device_.runtime(); }
  bool takes_sampled_ids() const override { return true; }
  bool draws_in_step() const override { return true; }
  std::vector<int64_t> graph_batch_sizes() const override { return device_.graph_batch_sizes(); }
  int64_t captured_graphs() const override { return device_.captured_graphs(); }
  void set_cuda_graphs(bool enabled) override { device_.set_cuda_graphs(enabled); }
  KvCache make_kv_cache(int64_t blocks, int64_t block_size) const override;
  MemoryRequest memory_request(const DeviceOptions& options) const override;
  void place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options) override;

  // The encoder's output [tokens, d_model] (after its final norm) for one input, on the host
  // in f32.
  Tensor encode(std::span<const int32_t> ids) const;

 private:
  struct EncoderBuffers;
  struct DecoderBuffers;
  // One encoder run's buffers for `tokens` tokens, and one decoder step's for `step`: the
  // same code sizes them for the plan (ArenaFootprint) and allocates them in a step.
  template <class Alloc>
  EncoderBuffers allocate_encoder(int64_t tokens, DType dtype, Alloc& alloc) const;
  template <class Alloc>
  DecoderBuffers allocate_decoder(const StepDims& step, DType dtype, Alloc& alloc) const;
  // The encoder's output of `ids` (after its final norm) in `b.h`, in an open step.
  void run_encoder(std::span<const int32_t> ids, EncoderBuffers& b) const;
  // Runs the encoder over `ids` and writes every decoder block's cross-attention keys and
  // values of its output at positions [0, ids.size()) of `blocks`, in an open step.
  void encode_into_cache(std::span<const int32_t> ids, const BlockTable& blocks, KvCache& cache) const;
  void feed_forward(const T5FeedForward& ff, const Tensor& x, Tensor& inner, Tensor& act, Tensor& out) const;
  // A step in which no sequence reads its prompt and each brings one decoder token: through
  // DecoderDevice::forward, so that the GPU replays it as a CUDA graph of its batch size.
  Tensor decode_step(const ForwardBatch& batch, KvCache& cache) const;
  // The decoder over `ids` (its tokens at self's positions, each also a query of `cross`) and
  // the LM head over the hidden states' `rows`: the logits [rows, vocab], in an open step.
  Tensor decoder_layers(const Tensor& ids, const PagedBatch& self, const PagedBatch& cross, const Tensor& rows,
                        KvCache& cache) const;
  // A host tensor (or batch) where the model's ops read it: uploaded into the step's
  // workspace on the GPU, as it is on the CPU.
  Tensor on_device(const Tensor& host) const;
  PagedBatch on_device(const PagedBatch& host) const;
  Tensor scratch(const Shape& shape) const { return device_.scratch(shape, device_.activations()); }

  T5Config config_;
  ModelSpec spec_;
  T5Weights weights_;
  DecoderDevice device_;
  DeviceOptions options_;  // resolved, on the GPU: the step limits the workspace was planned for
};

// Loads config.json + safetensors of a T5ForConditionalGeneration directory onto `device`.
T5Model load_t5(const std::filesystem::path& dir, const DeviceOptions& device = {});

}  // namespace genrt
