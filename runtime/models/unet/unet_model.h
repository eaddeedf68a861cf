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

#include "runtime/backend/step_graph.h"
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
  bool cuda_graphs = true;  // each forward replays a CUDA graph of the workspace's step (StepGraph)
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
  // The step's timestep features [batch, block_out_channels[0]]: made on the host in f32,
  // and on the GPU uploaded before each forward into timestep_features.
  Tensor host_timestep_features, timestep_features;
  // "text_time" only: add_embedding's input [batch, input_dim] (pooled text | time id
  // features), its hidden and output [batch, time_embed_dim], and the time id features
  // [batch, time ids * addition_time_embed_dim] (on the host, and on the GPU uploaded as the
  // timestep features are).
  Tensor added_input, added_hidden, added_temb, host_time_id_features, time_id_features;
  // On the GPU: the CUDA graph of the forward over these buffers.
  StepGraph graph;
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
  // make_workspace(options.extent) (each forward's inputs among them), the pinned staging
  // of those inputs, and with CUDA graphs the driver's memory for one workspace's graph.
  MemoryRequest memory_request(const UnetDeviceOptions& options) const;
  void place_on(std::shared_ptr<DeviceRuntime> runtime, const UnetDeviceOptions& options);
  DeviceRuntime* device_runtime() const { return runtime_.get(); }
  Device device() const { return runtime_ ? Device::cuda : Device::cpu; }
  DType dtype() const { return dtype_; }
  // On the GPU: whether forwards replay their workspace's CUDA graph.
  void set_cuda_graphs(bool enabled) { cuda_graphs_ = enabled; }

  UnetWorkspace make_workspace(const UnetExtent& extent) const;

  // output [batch, out_channels, h, w] (f32) for latents [batch, in_channels, h, w] (f32) at
  // per-sample timesteps, attending to text [batch, text_tokens, cross_attention_dim] (in the
  // model's dtype), all on the model's device; `added` is required by, and only taken by, a
  // UNet with SDXL's "text_time" embedding. On the GPU, call it inside a DeviceRuntime::Step;
  // with CUDA graphs the first forward of a shape over these buffers is captured and later
  // ones replay it (reading the buffers' values at each replay).
  void forward(const Tensor& latents, std::span<const float> timesteps, const Tensor& text, UnetWorkspace& ws,
               Tensor& output, const UnetAddedConditions& added = {}) const;

 private:
  // The layers of forward() from the latents, the text states and the step's features on
  // the model's device: what a CUDA graph captures.
  void run_layers(const Tensor& latents, const Tensor& text, const Tensor& features, const Tensor& text_embeds,
                  const Tensor& time_id_features, UnetWorkspace& ws, Tensor& output) const;
  // temb_silu = silu(time MLP(timestep features) [+ add_embedding(text_embeds | time id
  // features)]) for the batch.
  void embed_timesteps(const Tensor& features, const Tensor& text_embeds, const Tensor& time_id_features,
                       UnetWorkspace& ws, Tensor& temb_silu) const;

  UnetConfig config_;
  UnetWeights weights_;
  DType dtype_ = DType::f32;
  std::shared_ptr<DeviceRuntime> runtime_;
  bool cuda_graphs_ = false;
};

// Loads a diffusers UNet: a pipeline folder (with unet/) or the unet folder itself,
// holding config.json and diffusion_pytorch_model.safetensors. `time_ids`: per sample, for
// an added "text_time" embedding (SDXL's 6, its refiner's 5; see UnetTextTimeEmbedding).
UnetModel load_unet(const std::filesystem::path& dir, int64_t time_ids = UnetTextTimeEmbedding::kTimeIds);

}  // namespace genrt
