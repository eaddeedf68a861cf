#pragma once
// GPT-2 on genrt's op entries.

#include <filesystem>
#include <vector>

#include "runtime/models/causal_lm.h"
#include "runtime/models/gpt2/gpt2_config.h"

namespace genrt {

// Names follow the checkpoint (transformer.h.N.<name>). Conv1D weights are stored
// [in, out]; the loader transposes them to [out, in] and splits c_attn into q, k, v.
struct Gpt2LayerWeights {
  Tensor ln_1_weight, ln_1_bias;       // [n_embd]
  Tensor q_proj, k_proj, v_proj;       // [n_embd, n_embd]   (rows of c_attn^T)
  Tensor q_bias, k_bias, v_bias;       // [n_embd]
  Tensor attn_c_proj, attn_c_proj_bias;  // [n_embd, n_embd], [n_embd]
  Tensor ln_2_weight, ln_2_bias;       // [n_embd]
  Tensor mlp_c_fc, mlp_c_fc_bias;      // [n_inner, n_embd], [n_inner]
  Tensor mlp_c_proj, mlp_c_proj_bias;  // [n_embd, n_inner], [n_embd]
};

struct Gpt2Weights {
  Tensor wte;  // [vocab, n_embd]; also the LM head
  Tensor wpe;  // [n_positions, n_embd]
  std::vector<Gpt2LayerWeights> layers;
  Tensor ln_f_weight, ln_f_bias;  // [n_embd]
};

class Gpt2Model final : public CausalLM {
 public:
  Gpt2Model(Gpt2Config config, Gpt2Weights weights);

  const ModelSpec& spec() const override { return spec_; }
  const Gpt2Config& config() const { return config_; }
  Tensor forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const override;

 private:
  Gpt2Config config_;
  ModelSpec spec_;
  Gpt2Weights weights_;
};

// Loads config.json + safetensors of a GPT2LMHeadModel directory. Tensor names may carry
// the "transformer." prefix (transformers' save) or not (the original gpt2 checkpoint).
Gpt2Model load_gpt2(const std::filesystem::path& dir);

}  // namespace genrt
