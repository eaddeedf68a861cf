#pragma once
// Stable Diffusion's image autoencoder (diffusers' AutoencoderKL): the decoder turns latents
// into pixels through a 1x1 post-quantization convolution, a mid block of ResNets around
// one single-head attention over the pixels, and up blocks of ResNets and 2x upsamplers;
// the encoder (image-to-image) mirrors it with down blocks and stride-2 downsamplers into
// the mean and log-variance of the latent distribution. Activations run as NHWC images in
// the model's dtype; the latents, moments and images it takes and gives are NCHW f32.

#include <filesystem>
#include <memory>
#include <optional>
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

// The largest image a workspace is made for: batch images of height x width latents
// (height * f x width * f pixels).
struct VaeExtent {
  int64_t batch = 1;
  int64_t height = 0, width = 0;  // of the latents
};

struct VaeDeviceOptions {
  DType dtype = DType::bf16;
  VaeExtent extent;
  bool encoder = false;  // also place the encoder (image-to-image); else the GPU holds only the decoder
};

// The mid block's attention (diffusers' Attention with a GroupNorm and a residual).
struct VaeAttentionWeights {
  blocks::GroupNorm group_norm;
  blocks::Linear to_qkv;    // [3 channels, channels]: to_q, to_k and to_v fused, with biases
  blocks::Linear to_out_0;  // [channels, channels] with a bias
};

// ResNet, attention (when the config has it), ResNet: the same in the encoder and the decoder.
struct VaeMidBlock {
  blocks::ResnetBlock2D resnets[2];
  VaeAttentionWeights attention;
};

struct VaeUpBlock {
  std::vector<blocks::ResnetBlock2D> resnets;
  blocks::Conv2d upsampler;  // absent in the last block
};

struct VaeDownBlock {
  std::vector<blocks::ResnetBlock2D> resnets;
  blocks::Conv2d downsampler;  // stride 2, absent in the last block
};

// Members are named like diffusers' modules under decoder.
struct VaeDecoderWeights {
  blocks::Conv2d post_quant_conv;  // 1x1 over the latents (outside decoder.)
  blocks::Conv2d conv_in;
  VaeMidBlock mid_block;
  std::vector<VaeUpBlock> up_blocks;  // up_blocks[0] is the innermost level
  blocks::GroupNorm conv_norm_out;
  blocks::Conv2d conv_out;
};

// Members are named like diffusers' modules under encoder.
struct VaeEncoderWeights {
  blocks::Conv2d conv_in;
  std::vector<VaeDownBlock> down_blocks;  // down_blocks[0] is the outermost level
  VaeMidBlock mid_block;
  blocks::GroupNorm conv_norm_out;
  blocks::Conv2d conv_out;    // to twice the latent channels: the mean, then the log-variance
  blocks::Conv2d quant_conv;  // 1x1 over the moments (outside encoder.)
};

NamedWeights vae_decoder_named_weights(const VaeConfig& config, VaeDecoderWeights& weights);
NamedWeights vae_encoder_named_weights(const VaeConfig& config, VaeEncoderWeights& weights);

struct VaeWorkspace {
  VaeExtent extent;
  Tensor input, output;  // NHWC latents or pixels in, pixels or moments out
  Tensor current, other;
  blocks::ResnetBuffers resnet;
  Tensor attention_normed, qkv, attn;  // qkv: 3 parts
};

class VaeModel {
 public:
  VaeModel(VaeConfig config, VaeDecoderWeights decoder, std::optional<VaeEncoderWeights> encoder);
  ~VaeModel();
  VaeModel(VaeModel&&) noexcept;

  const VaeConfig& config() const { return config_; }
  // Whether the model can encode: the checkpoint holds the encoder (and on the GPU, it was
  // placed there).
  bool has_encoder() const { return encoder_.has_value(); }
  // Of the decoder, and of the encoder when the model has one.
  int64_t parameter_count() const;

  MemoryRequest memory_request(const VaeDeviceOptions& options) const;
  void place_on(std::shared_ptr<DeviceRuntime> runtime, const VaeDeviceOptions& options);
  DeviceRuntime* device_runtime() const { return runtime_.get(); }
  Device device() const { return runtime_ ? Device::cuda : Device::cpu; }

  // Buffers for decoding, and for encoding when the model has an encoder, up to `extent`.
  VaeWorkspace make_workspace(const VaeExtent& extent) const;

  // image [batch, out_channels, h * f, w * f] (f32, about -1..1) decoded from latents
  // [batch, latent_channels, h, w] (f32, already divided by the scaling factor), both on the
  // model's device; f is config().scale_factor(). On the GPU, call it inside a
  // DeviceRuntime::Step.
  void decode(const Tensor& latents, VaeWorkspace& ws, Tensor& image) const;

  // decode() in overlapping tiles of the config's sample_size (diffusers' tiled_decode, see
  // vae_tiling.h; latents of one tile or less decode whole, as there), so that ws needs only
  // a tile's extent: latents and image on the host,
  // each tile through the model's device in tile_latents and tile_pixels, flat f32 buffers
  // there of at least a tile's latents and pixels.
  void decode_tiled(const Tensor& latents, VaeWorkspace& ws, const Tensor& tile_latents, const Tensor& tile_pixels,
                    Tensor& image) const;

  // moments [batch, 2 * latent_channels, h, w] (f32): the mean, then the log-variance (as the
  // convolutions give it, before diffusers clamps it to [-30, 20]), of the latent
  // distribution of image [batch, in_channels, h * f, w * f] (f32 in -1..1), both on the
  // model's device. On the GPU, call it inside a DeviceRuntime::Step.
  void encode(const Tensor& image, VaeWorkspace& ws, Tensor& moments) const;

 private:
  VaeConfig config_;
  VaeDecoderWeights decoder_;
  std::optional<VaeEncoderWeights> encoder_;
  DType dtype_ = DType::f32;
  std::shared_ptr<DeviceRuntime> runtime_;
};

// Loads a diffusers AutoencoderKL: a pipeline folder (with vae/) or the vae folder itself,
// holding config.json and diffusion_pytorch_model.safetensors. The encoder is loaded when
// the checkpoint holds it: a decoder-only checkpoint still decodes.
VaeModel load_vae(const std::filesystem::path& dir);

}  // namespace genrt
