#pragma once
// DiT denoiser (diffusers' DiTTransformer2DModel): predicts the noise (and, with learned
// sigma, the variance channels) in noisy latents at a timestep, conditioned on a class.

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/models/dit/dit_config.h"

namespace genrt {

class DeviceRuntime;

// A DiT on the GPU: weights in `dtype`, and a workspace planned for up to max_batch
// denoiser samples (both halves of a guided batch) plus `loop_bytes` of persistent buffers
// for the caller's denoising loop.
struct DitDeviceOptions {
  DType dtype = DType::bf16;
  double gpu_memory = 0.9;
  int64_t max_batch = 2;
  uint64_t loop_bytes = 0;
};

// The timestep MLP and class table of one AdaLayerNormZero: diffusers gives every block
// its own copy (DiT's checkpoints duplicate the shared ones into each block).
struct DitConditioningWeights {
  Tensor timestep_linear_1, timestep_linear_1_bias;  // [d, 256], [d]
  Tensor timestep_linear_2, timestep_linear_2_bias;  // [d, d], [d]
  Tensor class_table;                                // [classes (+1 null), d]
};

struct DitBlockWeights {
  DitConditioningWeights conditioning;
  // adaLN projection [6d, d] cut into its six [d, d] chunks, in diffusers' order: shift,
  // scale and gate of the attention, then of the MLP.
  Tensor ada_chunks[6], ada_chunk_biases[6];
  Tensor to_q, to_q_bias, to_k, to_k_bias, to_v, to_v_bias, to_out, to_out_bias;
  Tensor ff_in, ff_in_bias, ff_out, ff_out_bias;  // [4d, d], [d, 4d]
};

struct DitWeights {
  Tensor patch_proj, patch_proj_bias;  // Conv2d [d, c, p, p] as [d, c * p * p]
  std::vector<DitBlockWeights> blocks;
  Tensor out_shift, out_shift_bias, out_scale, out_scale_bias;  // proj_out_1 chunks
  Tensor proj_out, proj_out_bias;                               // proj_out_2
};

// Every activation buffer of a forward pass for up to max_batch samples, allocated once
// so that a denoising loop allocates nothing. The activations live on the model's device
// in its dtype; the timestep features and class ids are built on the host (and uploaded
// per call on the GPU).
struct DitWorkspace {
  int64_t max_batch = 0;
  Tensor patches, position, residual, normed, q, k, v, attn, branch, ff, out_tokens;
  Tensor timestep_hidden, class_embedding, conditioning, first_conditioning;
  Tensor modulation[6];
  Tensor host_timestep_features, host_class_ids;
};

class DitModel {
 public:
  DitModel(DitConfig config, DitWeights weights);
  ~DitModel();
  DitModel(DitModel&&) noexcept;

  const DitConfig& config() const { return config_; }

  // Plans device memory, then moves the weights to the GPU; forward then runs there on
  // device tensors. Errors (no device, not enough memory) come before any allocation.
  void move_to_device(const DitDeviceOptions& options);
  // The runtime of a model on the GPU (its stream, workspace and transfers), else null.
  DeviceRuntime* device_runtime() const { return runtime_.get(); }
  Device device() const { return runtime_ ? Device::cuda : Device::cpu; }
  // The workspace a forward pass of up to max_batch samples needs in the model's dtype, in
  // bytes (what move_to_device plans).
  uint64_t workspace_bytes(int64_t max_batch) const;
  // Whether the class table has the extra null-class row that classifier-free guidance needs.
  bool has_null_class() const;
  int64_t null_class() const { return config_.num_classes; }

  // On the GPU the buffers are persistent ones of device_runtime() (see
  // DeviceRuntime::release_persistent).
  DitWorkspace make_workspace(int64_t max_batch) const;

  // output [batch, out_channels, size, size] for latents [batch, in_channels, size, size]
  // (f32, on the model's device) at per-sample timesteps and class labels (the null class
  // allowed when the model has one). On the GPU, call it inside a DeviceRuntime::Step.
  void forward(const Tensor& latents, std::span<const float> timesteps,
               std::span<const int32_t> class_labels, DitWorkspace& ws, Tensor& output) const;

 private:
  // conditioning [b, d] = silu(timestep MLP(features) + class embedding), for one block's
  // weights.
  void embed_conditioning(const DitConditioningWeights& w, const Tensor& features, const Tensor& class_ids,
                          DitWorkspace& ws, Tensor& conditioning) const;

  DitConfig config_;
  DitWeights weights_;
  DType dtype_ = DType::f32;  // of weights and activations
  std::unique_ptr<DeviceRuntime> runtime_;
};

// Loads a diffusers DiT: a pipeline folder (with transformer/) or the transformer folder
// itself, holding config.json and diffusion_pytorch_model.safetensors (or model.safetensors).
DitModel load_dit(const std::filesystem::path& dir);

// The transformer folder of a DiT pipeline folder, or `dir` itself when it is one.
std::filesystem::path dit_transformer_dir(const std::filesystem::path& dir);

}  // namespace genrt
