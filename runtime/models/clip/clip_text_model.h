#pragma once
// CLIP's text encoder (transformers' CLIPTextModel) as Stable Diffusion conditions on it:
// token and learned position embeddings, pre-LayerNorm transformer layers whose
// self-attention is causal, a quick-GELU or GELU MLP, and a final LayerNorm; and SDXL's
// second encoder (CLIPTextModelWithProjection), which adds a projection of the final
// state at each prompt's end-of-text token (the pooled text embedding).

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/memory/memory_plan.h"
#include "runtime/models/blocks/linear.h"
#include "runtime/models/blocks/norms.h"
#include "runtime/models/clip/clip_text_config.h"
#include "runtime/models/named_weights.h"

namespace genrt {

class DeviceRuntime;

// A text encoder on the GPU: weights in `dtype`, and buffers planned for up to max_batch
// prompts (a prompt and its negative prompt) of max_position_embeddings tokens.
struct ClipTextDeviceOptions {
  DType dtype = DType::bf16;
  double gpu_memory = 0.9;
  int64_t max_batch = 2;
};

// Members are named like the checkpoint's modules (text_model.encoder.layers.N.<name>); a
// dot in a module path becomes an underscore (embeddings.token_embedding ->
// embeddings_token_embedding).
struct ClipAttentionWeights {
  blocks::Linear qkv_proj;  // [3 hidden, hidden]: q_proj, k_proj and v_proj fused
  blocks::Linear out_proj;  // [hidden, hidden]
};

struct ClipMlpWeights {
  blocks::Linear fc1;  // [intermediate, hidden]
  blocks::Linear fc2;  // [hidden, intermediate]
};

struct ClipEncoderLayerWeights {
  blocks::LayerNorm layer_norm1;
  ClipAttentionWeights self_attn;
  blocks::LayerNorm layer_norm2;
  ClipMlpWeights mlp;
};

struct ClipTextWeights {
  Tensor embeddings_token_embedding;     // [vocab, hidden]
  Tensor embeddings_position_embedding;  // [max_position_embeddings, hidden]
  std::vector<ClipEncoderLayerWeights> encoder_layers;
  blocks::LayerNorm final_layer_norm;
  blocks::Linear text_projection;  // [projection_dim, hidden], no bias; CLIPTextModelWithProjection only
};

// The weights of `config` by their checkpoint names without the "text_model." prefix,
// sizing the layers to the config; text_projection (never prefixed) comes last.
NamedWeights clip_text_named_weights(const ClipTextConfig& config, ClipTextWeights& weights);

// Every activation buffer of a forward pass over up to max_batch prompts, allocated once
// (on the GPU, persistent buffers of the model's runtime), in the model's dtype. Rows are
// the prompts' tokens, prompt after prompt.
struct ClipTextWorkspace {
  int64_t max_batch = 0;
  Tensor residual, normed, branch;  // [rows, hidden]
  Tensor qkv;                       // flat: 3 parts of [rows, heads, head_dim]
  Tensor attn;                      // [rows, heads, head_dim]
  Tensor fc;                        // [rows, intermediate]
  Tensor hidden_state;              // [rows, hidden]: the output
  Tensor penultimate;               // [rows, hidden]: SDXL's hidden states (sdxl_conditioning)
  Tensor pooled;                    // [max_batch, projection_dim], with a text_projection
};

// What SDXL conditions on from one encoder (views of the workspace, on the model's device).
struct ClipSdxlConditioning {
  Tensor hidden;  // [batch, tokens, hidden]: hidden_states[-(2 + clip_skip)], no final LayerNorm
  Tensor pooled;  // [batch, projection_dim]; undefined without a text_projection
};

// The token of each prompt whose final state is pooled, as transformers' CLIPTextTransformer
// picks it: with eos_token_id 2 (older configs) the largest id, else the first eos_token_id
// (position 0 when there is none); the first such position either way.
int64_t pooled_token_position(std::span<const int32_t> ids, int64_t eos_token_id);

class ClipTextModel {
 public:
  ClipTextModel(ClipTextConfig config, ClipTextWeights weights);
  ~ClipTextModel();
  ClipTextModel(ClipTextModel&&) noexcept;

  const ClipTextConfig& config() const { return config_; }

  // What the model asks of a GPU's DeviceRuntime: its weights, persistent buffers for
  // make_workspace(options.max_batch), and a workspace for each forward's uploads.
  MemoryRequest memory_request(const ClipTextDeviceOptions& options) const;
  // Moves the weights into `runtime`, which planned memory_request(options) alone or with
  // the pipeline's other models; forward then runs there.
  void place_on(std::shared_ptr<DeviceRuntime> runtime, const ClipTextDeviceOptions& options);
  DeviceRuntime* device_runtime() const { return runtime_.get(); }
  Device device() const { return runtime_ ? Device::cuda : Device::cpu; }

  ClipTextWorkspace make_workspace(int64_t max_batch) const;

  // The hidden states [batch, tokens, hidden] (a view of ws.hidden_state, on the model's
  // device) of input_ids [batch, tokens] (i32, on the host; tokens at most
  // max_position_embeddings): final_layer_norm(hidden_states[-(1 + clip_skip)]), as
  // diffusers' encode_prompt takes them. clip_skip 0 gives the last hidden state; clip
  // skip k stops k layers before the last. On the GPU, call it inside a DeviceRuntime::Step.
  Tensor forward(const Tensor& input_ids, int64_t clip_skip, ClipTextWorkspace& ws) const;
  // SDXL's conditioning from the same input_ids, as diffusers' StableDiffusionXLPipeline
  // takes it (output_hidden_states=True): the hidden states clip_skip layers before the
  // penultimate one as the layers leave them, and with a text_projection the pooled output
  // of the whole encoder (text_embeds).
  ClipSdxlConditioning sdxl_conditioning(const Tensor& input_ids, int64_t clip_skip, ClipTextWorkspace& ws) const;

 private:
  struct Pass;  // one forward's inputs on the device and views of the workspace
  // Checks input_ids, uploads them and embeds them into the residual stream.
  Pass start(const Tensor& input_ids, int64_t clip_skip, ClipTextWorkspace& ws) const;
  // Encoder layers [from, to): afterwards residual + branch is hidden_states[to].
  void run_layers(Pass& pass, int64_t from, int64_t to) const;
  // hidden_state = final_layer_norm(residual + branch).
  void final_norm(Pass& pass) const;

  ClipTextConfig config_;
  ClipTextWeights weights_;
  DType dtype_ = DType::f32;  // of weights and activations
  std::shared_ptr<DeviceRuntime> runtime_;
};

// Loads a text encoder: a pipeline folder (with text_encoder/) or the text_encoder folder
// itself, holding config.json and model.safetensors, tensors named with the "text_model."
// prefix (Hub checkpoints) or without it (recent transformers).
ClipTextModel load_clip_text_model(const std::filesystem::path& dir);

}  // namespace genrt
