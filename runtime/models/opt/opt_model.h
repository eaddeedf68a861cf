#pragma once
// OPT on genrt's op entries: learned positions (offset by 2) added to the token embedding
// (projected up by project_in when the embedding is narrower), LayerNorm before or after
// each attention and MLP block, multi-head attention over the paged KV cache, a ReLU MLP,
// and the LM head tied to the token embedding (after project_out).

#include <filesystem>
#include <memory>
#include <vector>

#include "runtime/models/blocks/linear.h"
#include "runtime/models/blocks/norms.h"
#include "runtime/models/causal_lm.h"
#include "runtime/models/decoder_device.h"
#include "runtime/models/opt/opt_config.h"

namespace genrt {

// Members are named like the checkpoint's modules (model.decoder.layers.N.<name>).
// q_proj, k_proj and v_proj are loaded as the rows of one fused qkv_proj (one GEMM).
struct OptAttentionWeights {
  blocks::Linear qkv_proj;  // [3 hidden, hidden]
  blocks::Linear out_proj;  // [hidden, hidden]
};

struct OptLayerWeights {
  OptAttentionWeights self_attn;
  blocks::LayerNorm self_attn_layer_norm;
  blocks::Linear fc1;  // [ffn_dim, hidden]
  blocks::Linear fc2;  // [hidden, ffn_dim]
  blocks::LayerNorm final_layer_norm;
};

struct OptWeights {
  Tensor embed_tokens;     // [vocab, word_embed_proj_dim]; also the LM head
  Tensor embed_positions;  // [max_position_embeddings + 2, hidden]
  blocks::Linear project_in;   // [hidden, word_embed_proj_dim], no bias; only when config.projects()
  blocks::Linear project_out;  // [word_embed_proj_dim, hidden], no bias; only when config.projects()
  std::vector<OptLayerWeights> layers;
  blocks::LayerNorm final_layer_norm;  // only when config.has_final_layer_norm()
};

// The weights of `config` by their checkpoint names (without the "model.decoder." prefix),
// sizing `weights.layers` to the config.
NamedWeights opt_named_weights(const OptConfig& config, OptWeights& weights);

class OptModel final : public CausalLM {
 public:
  OptModel(OptConfig config, OptWeights weights);
  ~OptModel() override;
  OptModel(OptModel&&) noexcept;  // only before a KV cache is made from it

  const ModelSpec& spec() const override { return spec_; }
  const OptConfig& config() const { return config_; }
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

  OptConfig config_;
  ModelSpec spec_;
  OptWeights weights_;
  DecoderDevice device_;
};

// Loads config.json + safetensors of an OPTForCausalLM directory onto `device`. Tensor
// names may carry the "model.decoder." prefix (OPTForCausalLM) or "decoder." (OPTModel).
OptModel load_opt(const std::filesystem::path& dir, const DeviceOptions& device = {});

}  // namespace genrt
