#pragma once
// The Llama-family decoder on genrt's op entries: pre-norm RMSNorm blocks, rotary GQA
// attention over the paged KV cache, SwiGLU MLP.

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/backend/device_runtime.h"
#include "runtime/core/tensor.h"
#include "runtime/models/causal_lm.h"
#include "runtime/models/llama/llama_config.h"

namespace genrt {

// Member names follow the Hugging Face checkpoint names (model.layers.N.<name>.weight).
struct LlamaLayerWeights {
  Tensor input_layernorm;           // [hidden]
  Tensor q_proj, k_proj, v_proj;    // [q_dim | kv_dim, hidden]
  Tensor q_bias, k_bias, v_bias;    // [q_dim | kv_dim], or undefined
  Tensor o_proj;                    // [hidden, q_dim]
  Tensor o_bias;                    // [hidden], or undefined
  Tensor post_attention_layernorm;  // [hidden]
  Tensor gate_proj, up_proj;        // [intermediate, hidden]
  Tensor down_proj;                 // [hidden, intermediate]
};

struct LlamaWeights {
  Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LlamaLayerWeights> layers;
  Tensor norm;     // [hidden]
  Tensor lm_head;  // [vocab, hidden]; embed_tokens when tied
};

class LlamaModel final : public CausalLM {
 public:
  // Host weights in; with device.device == cuda they are uploaded into the planned weights
  // region in device.dtype (the plan is logged; an error before uploading says what does
  // not fit) and the host copies are released.
  LlamaModel(LlamaConfig config, LlamaWeights weights, const DeviceOptions& device = {});
  ~LlamaModel() override;
  LlamaModel(LlamaModel&&) noexcept;  // only before a KV cache is made from it

  const ModelSpec& spec() const override { return spec_; }
  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }
  Tensor forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const override;
  DeviceRuntime* device_runtime() const override { return runtime_.get(); }
  KvCache make_kv_cache(int64_t blocks, int64_t block_size) const override;

 private:
  struct Activations;  // one step's buffers
  void attention_block(const LlamaLayerWeights& w, int64_t layer, const PagedBatch& paged, Activations& a,
                       KvCache& cache) const;
  void mlp_block(const LlamaLayerWeights& w, Activations& a) const;
  void move_to_device(const DeviceOptions& device);
  uint64_t workspace_bytes(int64_t tokens, int64_t seqs) const;

  LlamaConfig config_;
  ModelSpec spec_;
  LlamaWeights weights_;
  Tensor inv_freq_;  // [head_dim / 2] f32
  DeviceOptions device_;
  std::unique_ptr<DeviceRuntime> runtime_;  // set on the GPU
};

}  // namespace genrt
