#pragma once
// DiT denoiser (diffusers' DiTTransformer2DModel): predicts the noise (and, with learned
// sigma, the variance channels) in noisy latents at a timestep, conditioned on a class.

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "runtime/backend/step_graph.h"
#include "runtime/core/tensor.h"
#include "runtime/memory/memory_plan.h"
#include "runtime/models/blocks/linear.h"
#include "runtime/models/dit/dit_config.h"
#include "runtime/models/named_weights.h"

namespace genrt {

// A DiT on the GPU: weights in `dtype`, and buffers planned for up to max_batch denoiser
// samples (both halves of a guided batch).
struct DitDeviceOptions {
  DType dtype = DType::bf16;
  double gpu_memory = 0.9;
  int64_t max_batch = 2;
  bool cuda_graphs = true;  // each forward replays a CUDA graph of the workspace's step (StepGraph)
};

// Members are named like diffusers' modules (transformer_blocks.N.<name>); a dot in a
// module path becomes an underscore (to_out.0 -> to_out_0).
struct DitTimestepEmbedder {
  blocks::Linear linear_1;  // [d, 256]
  blocks::Linear linear_2;  // [d, d]
};

// norm1.emb: the timestep MLP and class table of one AdaLayerNormZero. diffusers gives
// every block its own copy (DiT's checkpoints duplicate the shared ones into each block).
struct DitCombinedEmbedding {
  DitTimestepEmbedder timestep_embedder;
  Tensor class_embedder_embedding_table;  // [classes (+1 null), d]
};

struct DitAdaLayerNormZero {
  DitCombinedEmbedding emb;
  // [6d, d]: the shift, scale and gate of the attention, then of the MLP, in diffusers' order.
  blocks::Linear linear;
};

struct DitAttention {
  blocks::Linear to_qkv;    // [3d, d]: to_q, to_k and to_v fused
  blocks::Linear to_out_0;  // [d, d]
};

struct DitFeedForward {
  blocks::Linear net_0_proj;  // [4d, d]
  blocks::Linear net_2;       // [d, 4d]
};

struct DitBlockWeights {
  DitAdaLayerNormZero norm1;
  DitAttention attn1;
  DitFeedForward ff;
};

struct DitWeights {
  blocks::Linear pos_embed_proj;  // Conv2d [d, c, p, p] as stored; the model keeps [d, c * p * p]
  std::vector<DitBlockWeights> transformer_blocks;
  blocks::Linear proj_out_1;  // [2d, d]: the final shift, then scale
  blocks::Linear proj_out_2;  // [out_channels * p * p, d]
};

// The weights of `config` by their diffusers names, sizing the blocks to the config; the
// class tables have `class_table_rows` rows (num_classes, or one more for the null class).
NamedWeights dit_named_weights(const DitConfig& config, DitWeights& weights, int64_t class_table_rows);

// Every activation buffer of a forward pass for up to max_batch samples, allocated once
// so that a denoising loop allocates nothing. The activations live on the model's device
// in its dtype; the timestep features and class ids are built on the host (and on the GPU
// uploaded into timestep_features and class_ids before each forward). On the GPU it also
// holds the CUDA graph of its forward, whose buffers are these.
struct DitWorkspace {
  int64_t max_batch = 0;
  Tensor patches, position, residual, normed, qkv, attn, branch, ff, out_tokens;  // qkv flat: 3 parts
  Tensor timestep_hidden, class_embedding, conditioning, first_conditioning;
  Tensor modulation[6];
  Tensor timestep_features, class_ids;
  Tensor host_timestep_features, host_class_ids;
  StepGraph graph;
};

class DitModel {
 public:
  DitModel(DitConfig config, DitWeights weights);
  ~DitModel();
  DitModel(DitModel&&) noexcept;

  const DitConfig& config() const { return config_; }

  // What the model asks of a GPU's DeviceRuntime: its weights, persistent buffers for
  // make_workspace(options.max_batch) (the forward's inputs among them), and with CUDA
  // graphs the driver's memory for one workspace's graph.
  MemoryRequest memory_request(const DitDeviceOptions& options) const;
  // Moves the weights into `runtime`, which planned memory_request(options) alone or with
  // other requests; forward then runs there on device tensors.
  void place_on(std::shared_ptr<DeviceRuntime> runtime, const DitDeviceOptions& options);
  // The runtime of a model on the GPU (its stream, workspace and transfers), else null.
  DeviceRuntime* device_runtime() const { return runtime_.get(); }
  // On the GPU: whether forwards replay their workspace's CUDA graph (--no-cuda-graphs
  // and the bench's comparison turn it off).
  void set_cuda_graphs(bool enabled) { cuda_graphs_ = enabled; }
  Device device() const { return runtime_ ? Device::cuda : Device::cpu; }
  // Whether the class table has the extra null-class row that classifier-free guidance needs.
  bool has_null_class() const;
  int64_t null_class() const { return config_.num_classes; }
  // Rows of the class tables: num_classes, or one more with the null class.
  int64_t class_table_rows() const;

  // On the GPU the buffers are persistent ones of device_runtime(), freed by the
  // DeviceRuntime::PersistentScope open when they were made.
  DitWorkspace make_workspace(int64_t max_batch) const;

  // output [batch, out_channels, size, size] for latents [batch, in_channels, size, size]
  // (f32, on the model's device) at per-sample timesteps and class labels (the null class
  // allowed when the model has one). On the GPU, call it inside a DeviceRuntime::Step;
  // with CUDA graphs the first forward of a batch over these latents and output buffers
  // is captured, and later ones replay it.
  void forward(const Tensor& latents, std::span<const float> timesteps,
               std::span<const int32_t> class_labels, DitWorkspace& ws, Tensor& output) const;

 private:
  // The layers of forward() from the latents and the conditioning inputs on the model's
  // device: what a CUDA graph captures.
  void run_layers(const Tensor& latents, const Tensor& features, const Tensor& class_ids, DitWorkspace& ws,
                  Tensor& output) const;
  // conditioning [b, d] = silu(timestep MLP(features) + class embedding), for one block's
  // weights.
  void embed_conditioning(const DitCombinedEmbedding& w, const Tensor& features, const Tensor& class_ids,
                          DitWorkspace& ws, Tensor& conditioning) const;

  DitConfig config_;
  DitWeights weights_;
  DType dtype_ = DType::f32;  // of weights and activations
  std::shared_ptr<DeviceRuntime> runtime_;
  bool cuda_graphs_ = false;
};

// Loads a diffusers DiT: a pipeline folder (with transformer/) or the transformer folder
// itself, holding config.json and diffusion_pytorch_model.safetensors (or model.safetensors).
DitModel load_dit(const std::filesystem::path& dir);

}  // namespace genrt
