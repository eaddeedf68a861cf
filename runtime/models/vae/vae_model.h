#pragma once
// Stable Diffusion's image decoder (the decoder half of diffusers' AutoencoderKL): latents
// to pixels through a 1x1 post-quantization convolution, a mid block of ResNets around one
// single-head attention over the pixels, and up blocks of ResNets and 2x upsamplers.
// Activations run as NHWC images in the model's dtype; latents and images it takes and
// gives are NCHW f32.

#include <filesystem>
#include <memory>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/memory/memory_plan.h"
#include "runtime/models/blocks/attention.h"
#include "runtime/models/blocks/conv2d.h"
#include "runtime/models/blocks/linear.h"
#include "runtime/models/blocks/norms.h"
#include "runtime/models/blocks/resnet.h"
#include "runtime/models/named_weights.h"
#include "runtime/models/vae/vae_config.h"

namespace genrt {

class DeviceRuntime;

// The largest decode a workspace is made for: images of batch latents of height x width.
struct VaeExtent {
  int64_t batch = 1;
  int64_t height = 0, width = 0;  // of the latents
};

struct VaeDeviceOptions {
  DType dtype = DType::bf16;
  VaeExtent extent;
};

// The mid block's attention (diffusers' Attention with a GroupNorm and a residual).
struct VaeAttentionWeights {
  blocks::GroupNorm group_norm;
  blocks::Linear to_q, to_k, to_v, to_out_0;  // [channels, channels] with biases
};

struct VaeUpBlock {
  std::vector<blocks::ResnetBlock2D> resnets;
  blocks::Conv2d upsampler;  // absent in the last block
};

// Members are named like diffusers' modules under decoder.
struct VaeDecoderWeights {
  blocks::Conv2d post_quant_conv;  // 1x1 over the latents (outside decoder.)
  blocks::Conv2d conv_in;
  blocks::ResnetBlock2D mid_resnets[2];
  VaeAttentionWeights mid_attention;
  std::vector<VaeUpBlock> up_blocks;  // up_blocks[0] is the innermost level
  blocks::GroupNorm conv_norm_out;
  blocks::Conv2d conv_out;
};

NamedWeights vae_decoder_named_weights(const VaeConfig& config, VaeDecoderWeights& weights);

struct VaeWorkspace {
  VaeExtent extent;
  Tensor input, output;  // NHWC latents in, pixels out
  Tensor current, other;
  blocks::ResnetBuffers resnet;
  Tensor attention_tokens, attention_normed, q, k, v, attn;
};

class VaeDecoder {
 public:
  VaeDecoder(VaeConfig config, VaeDecoderWeights weights);
  ~VaeDecoder();
  VaeDecoder(VaeDecoder&&) noexcept;

  const VaeConfig& config() const { return config_; }

  MemoryRequest memory_request(const VaeDeviceOptions& options) const;
  void place_on(std::shared_ptr<DeviceRuntime> runtime, const VaeDeviceOptions& options);
  DeviceRuntime* device_runtime() const { return runtime_.get(); }
  Device device() const { return runtime_ ? Device::cuda : Device::cpu; }

  VaeWorkspace make_workspace(const VaeExtent& extent) const;

  // image [batch, out_channels, h * f, w * f] (f32, about -1..1) decoded from latents
  // [batch, latent_channels, h, w] (f32, already divided by the scaling factor), both on the
  // model's device; f is config().scale_factor(). On the GPU, call it inside a
  // DeviceRuntime::Step.
  void decode(const Tensor& latents, VaeWorkspace& ws, Tensor& image) const;

 private:
  VaeConfig config_;
  VaeDecoderWeights weights_;
  DType dtype_ = DType::f32;
  std::shared_ptr<DeviceRuntime> runtime_;
};

// Loads the decoder of a diffusers AutoencoderKL: a pipeline folder (with vae/) or the vae
// folder itself, holding config.json and diffusion_pytorch_model.safetensors.
VaeDecoder load_vae_decoder(const std::filesystem::path& dir);

}  // namespace genrt
