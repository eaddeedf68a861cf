#pragma once
// The Llama-family decoder on genrt's op entries: pre-norm RMSNorm blocks, rotary GQA
// attention over the paged KV cache, SwiGLU MLP.

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/models/blocks/linear.h"
#include "runtime/models/blocks/norms.h"
#include "runtime/models/causal_lm.h"
#include "runtime/models/decoder_device.h"
#include "runtime/models/llama/llama_config.h"

namespace genrt {

// Members are named like the Hugging Face checkpoint's modules (model.layers.N.<name>).
// q_proj, k_proj and v_proj are loaded as the rows of one fused qkv_proj, gate_proj and
// up_proj as those of gate_up_proj, so each runs as one GEMM.
struct LlamaAttentionWeights {
  blocks::Linear qkv_proj;  // [q_dim + 2 kv_dim, hidden], biases with config.qkv_bias
  blocks::Linear o_proj;    // [hidden, q_dim], bias with config.o_bias
};

struct LlamaMlpWeights {
  blocks::Linear gate_up_proj;  // [2 intermediate, hidden]
  blocks::Linear down_proj;     // [hidden, intermediate]
};

struct LlamaLayerWeights {
  blocks::RmsNorm input_layernorm;
  LlamaAttentionWeights self_attn;
  blocks::RmsNorm post_attention_layernorm;
  LlamaMlpWeights mlp;
};

struct LlamaWeights {
  Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LlamaLayerWeights> layers;
  blocks::RmsNorm norm;
  blocks::Linear lm_head;      // [vocab, hidden]
  bool lm_head_tied = false;   // lm_head is embed_tokens (not a tensor of its own)
};

// The weights of `config` by their Hugging Face names, sizing `weights.layers` to the
// config. lm_head.weight is listed unless the weights are tied.
NamedWeights llama_named_weights(const LlamaConfig& config, LlamaWeights& weights);

class LlamaModel final : public CausalLM {
 public:
  // Host weights (f32 for the CPU reference); place_on moves them to a device.
  LlamaModel(LlamaConfig config, LlamaWeights weights);
  ~LlamaModel() override;
  LlamaModel(LlamaModel&&) noexcept;  // only before a KV cache is made from it

  const ModelSpec& spec() const override { return spec_; }
  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }
  Tensor forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const override;
  DeviceRuntime* device_runtime() const override { return device_.runtime(); }
  KvCache make_kv_cache(int64_t blocks, int64_t block_size) const override;
  bool takes_sampled_ids() const override { return true; }
  bool draws_in_step() const override { return true; }
  std::vector<int64_t> graph_batch_sizes() const override { return device_.graph_batch_sizes(); }
  int64_t captured_graphs() const override { return device_.captured_graphs(); }
  void set_cuda_graphs(bool enabled) override { device_.set_cuda_graphs(enabled); }
  MemoryRequest memory_request(const DeviceOptions& options) const override;
  void place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options) override;

 private:
  struct Activations;  // one step's buffers
  // The layers, the final norm and the LM head over one step's inputs (DecoderDevice's StepBody).
  Tensor forward_step(const StepInputs& in, KvCache& cache, LogitsFor which) const;
  template <class Alloc>
  Activations allocate_activations(const StepDims& step, DType dtype, Alloc& alloc) const;

  LlamaConfig config_;
  ModelSpec spec_;
  LlamaWeights weights_;
  Tensor inv_freq_;  // [head_dim / 2] f32
  DecoderDevice device_;
};

}  // namespace genrt
