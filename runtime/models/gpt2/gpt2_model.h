#pragma once
// GPT-2 on genrt's op entries: pre-norm LayerNorm blocks, learned absolute positions,
// multi-head attention over the paged KV cache, a GELU MLP, and the LM head tied to the
// token embedding.

#include <filesystem>
#include <memory>
#include <vector>

#include "runtime/models/blocks/linear.h"
#include "runtime/models/blocks/norms.h"
#include "runtime/models/causal_lm.h"
#include "runtime/models/decoder_device.h"
#include "runtime/models/gpt2/gpt2_config.h"

namespace genrt {

// Members are named like the checkpoint's modules (transformer.h.N.<name>). Conv1D
// weights are stored [in, out] and kept [out, in].
struct Gpt2AttentionWeights {
  blocks::Linear c_attn;  // [3 n_embd, n_embd]: the rows of q, then k, then v
  blocks::Linear c_proj;  // [n_embd, n_embd]
};

struct Gpt2MlpWeights {
  blocks::Linear c_fc;    // [n_inner, n_embd]
  blocks::Linear c_proj;  // [n_embd, n_inner]
};

struct Gpt2LayerWeights {
  blocks::LayerNorm ln_1;
  Gpt2AttentionWeights attn;
  blocks::LayerNorm ln_2;
  Gpt2MlpWeights mlp;
};

struct Gpt2Weights {
  Tensor wte;  // [vocab, n_embd]; also the LM head
  Tensor wpe;  // [n_positions, n_embd]
  std::vector<Gpt2LayerWeights> h;
  blocks::LayerNorm ln_f;
};

// The weights of `config` by their checkpoint names (without the "transformer." prefix),
// sizing `weights.h` to the config.
NamedWeights gpt2_named_weights(const Gpt2Config& config, Gpt2Weights& weights);

class Gpt2Model final : public CausalLM {
 public:
  Gpt2Model(Gpt2Config config, Gpt2Weights weights);
  ~Gpt2Model() override;
  Gpt2Model(Gpt2Model&&) noexcept;  // only before a KV cache is made from it

  const ModelSpec& spec() const override { return spec_; }
  const Gpt2Config& config() const { return config_; }
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

  Gpt2Config config_;
  ModelSpec spec_;
  Gpt2Weights weights_;
  DecoderDevice device_;
};

// Loads config.json + safetensors of a GPT2LMHeadModel directory onto `device`. Tensor
// names may carry the "transformer." prefix (transformers' save) or not (the original gpt2
// checkpoint).
Gpt2Model load_gpt2(const std::filesystem::path& dir, const DeviceOptions& device = {});

}  // namespace genrt
