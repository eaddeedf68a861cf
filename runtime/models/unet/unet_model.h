#pragma once
// Stable Diffusion's denoiser (diffusers' UNet2DConditionModel, SD 1.x, 2.x and XL): predicts
// the noise (or v) in noisy latents at a timestep, conditioned on text states through
// cross-attention (and for SDXL on the pooled text and the image's size and crop, through
// an embedding added to the timestep's). Activations run as NHWC images in the model's dtype; the latents it
// takes and gives are NCHW f32, as the denoising loop keeps them.

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/memory/memory_plan.h"
#include "runtime/models/blocks/conv2d.h"
#include "runtime/models/blocks/linear.h"
#include "runtime/models/blocks/norms.h"
#include "runtime/models/blocks/resnet.h"
#include "runtime/models/named_weights.h"
#include "runtime/models/unet/unet_config.h"
#include "runtime/models/unet/unet_transformer.h"

namespace genrt {

class DeviceRuntime;

// The largest input a workspace is made for: batch (both halves of a guided batch), latent
// height and width, and text tokens per sample.
struct UnetExtent {
  int64_t batch = 2;
  int64_t height = 0, width = 0;
  int64_t text_tokens = 77;
};

// A UNet on the GPU: weights in `dtype`, buffers planned for `extent`.
struct UnetDeviceOptions {
  DType dtype = DType::bf16;
  UnetExtent extent;
};

// Members are named like diffusers' modules (down_blocks.N.<name>).
struct UnetDownBlock {
  std::vector<blocks::ResnetBlock2D> resnets;
  std::vector<UnetTransformer2D> attentions;  // empty in a DownBlock2D
  blocks::Conv2d downsampler;                 // 3x3 stride 2; absent in the last block
};

struct UnetUpBlock {
  std::vector<blocks::ResnetBlock2D> resnets;
  std::vector<UnetTransformer2D> attentions;  // empty in an UpBlock2D
  blocks::Conv2d upsampler;                   // 3x3 after nearest 2x; absent in the last block
};

struct UnetWeights {
  blocks::Conv2d conv_in;
  blocks::Linear time_embedding_linear_1, time_embedding_linear_2;
  blocks::Linear add_embedding_linear_1, add_embedding_linear_2;  // SDXL's "text_time" only
  std::vector<UnetDownBlock> down_blocks;
  blocks::ResnetBlock2D mid_resnets[2];
  UnetTransformer2D mid_attention;
  std::vector<UnetUpBlock> up_blocks;  // up_blocks[0] is the innermost level
  blocks::GroupNorm conv_norm_out;
  blocks::Conv2d conv_out;
};

NamedWeights unet_named_weights(const UnetConfig& config, UnetWeights& weights);

// Every activation buffer of a forward at up to an extent, allocated once so that a
// denoising loop allocates nothing: flat buffers viewed per block, and one buffer per skip
// connection.
struct UnetWorkspace {
  UnetExtent extent;
  Tensor input, output;                     // NHWC latents in and prediction out
  Tensor current, other, joined;            // the running image, its next, skip-joined inputs
  blocks::ResnetBuffers resnet;
  UnetTransformerBuffers transformer;
  std::vector<Tensor> skips;
  Tensor timestep_hidden, temb, temb_silu;  // [batch, time_embed_dim]
  Tensor host_timestep_features;            // [batch, block_out_channels[0]] f32 on the host
  // "text_time" only: add_embedding's input [batch, input_dim] (pooled text | time id
  // features), its hidden and output [batch, time_embed_dim], and the time id features
  // [batch, 6 * addition_time_embed_dim] f32 on the host.
  Tensor added_input, added_hidden, added_temb, host_time_id_features;
};

// SDXL's added conditions (the UNet's addition_embed_type "text_time"), per sample.
struct UnetAddedConditions {
  Tensor text_embeds;              // [batch, text_embeds_dim]: the pooled text, in the model's dtype and device
  // batch x config's time_ids on the host: original (h, w), crop (y, x), then target (h, w)
  // or (the refiner's) an aesthetic score
  std::span<const float> time_ids;
};

class UnetModel {
 public:
  UnetModel(UnetConfig config, UnetWeights weights);
  ~UnetModel();
  UnetModel(UnetModel&&) noexcept;

  const UnetConfig& config() const { return config_; }

  // What the model asks of a GPU's DeviceRuntime: its weights, persistent buffers for
  // make_workspace(options.extent), and each forward's uploads.
  MemoryRequest memory_request(const UnetDeviceOptions& options) const;
  void place_on(std::shared_ptr<DeviceRuntime> runtime, const UnetDeviceOptions& options);
  DeviceRuntime* device_runtime() const { return runtime_.get(); }
  Device device() const { return runtime_ ? Device::cuda : Device::cpu; }
  DType dtype() const { return dtype_; }

  UnetWorkspace make_workspace(const UnetExtent& extent) const;

  // output [batch, out_channels, h, w] (f32) for latents [batch, in_channels, h, w] (f32) at
  // per-sample timesteps, attending to text [batch, text_tokens, cross_attention_dim] (in the
  // model's dtype), all on the model's device; `added` is required by, and only taken by, a
  // UNet with SDXL's "text_time" embedding. On the GPU, call it inside a DeviceRuntime::Step.
  void forward(const Tensor& latents, std::span<const float> timesteps, const Tensor& text, UnetWorkspace& ws,
               Tensor& output, const UnetAddedConditions& added = {}) const;

 private:
  // temb_silu = silu(time MLP(timestep features) [+ add_embedding(text_embeds | time id
  // features)]) for the batch.
  void embed_timesteps(std::span<const float> timesteps, const UnetAddedConditions& added, UnetWorkspace& ws,
                       Tensor& temb_silu) const;
  // temb += add_embedding(added.text_embeds | features of added.time_ids).
  void add_text_time_embedding(const UnetAddedConditions& added, UnetWorkspace& ws, Tensor& temb) const;

  UnetConfig config_;
  UnetWeights weights_;
  DType dtype_ = DType::f32;
  std::shared_ptr<DeviceRuntime> runtime_;
};

// Loads a diffusers UNet: a pipeline folder (with unet/) or the unet folder itself,
// holding config.json and diffusion_pytorch_model.safetensors. `time_ids`: per sample, for
// an added "text_time" embedding (SDXL's 6, its refiner's 5; see UnetTextTimeEmbedding).
UnetModel load_unet(const std::filesystem::path& dir, int64_t time_ids = UnetTextTimeEmbedding::kTimeIds);

}  // namespace genrt
