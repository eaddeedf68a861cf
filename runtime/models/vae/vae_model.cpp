#include "runtime/models/vae/vae_model.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/diffusion_ops.h"
#include "runtime/backend/gpu_limits.h"
#include "runtime/backend/ops.h"
#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/model_files.h"

namespace genrt {

namespace {

using blocks::view_of;

// diffusers builds every norm of the VAE with eps 1e-6.
constexpr float kVaeNormEps = 1e-6f;

// Channels of decoder level k (0: the innermost, at the latents' size).
int64_t decoder_channels(const VaeConfig& c, int64_t k) {
  return c.block_out_channels[static_cast<size_t>(c.levels() - 1 - std::clamp<int64_t>(k, 0, c.levels() - 1))];
}

Shape decoder_image(const VaeExtent& e, int64_t k, int64_t channels) {
  return {e.batch, e.height << k, e.width << k, channels};
}

template <class Alloc>
void allocate_activations(const VaeConfig& c, const VaeExtent& e, DType dtype, Alloc& alloc, VaeWorkspace& ws) {
  const int64_t latent_pixels = e.batch * e.height * e.width;
  int64_t image = 0;
  for (int64_t k = 0; k < c.levels(); ++k) {
    const int64_t pixels = latent_pixels << (2 * k);
    image = std::max(image, pixels * std::max({decoder_channels(c, k - 1), decoder_channels(c, k), c.out_channels}));
  }
  auto flat = [&](int64_t n) { return alloc(Shape{n}, dtype); };
  const int64_t out_pixels = latent_pixels << (2 * (c.levels() - 1));
  ws.input = flat(latent_pixels * c.latent_channels);
  ws.output = flat(out_pixels * c.out_channels);
  for (Tensor* t : {&ws.current, &ws.other, &ws.resnet.normed, &ws.resnet.hidden}) *t = flat(image);
  const int64_t tokens = latent_pixels * decoder_channels(c, 0);
  for (Tensor* t : {&ws.attention_tokens, &ws.attention_normed, &ws.q, &ws.k, &ws.v, &ws.attn}) *t = flat(tokens);
}

void expect_extent(const VaeExtent& e, const char* what) {
  GENRT_CHECK(e.batch > 0 && e.height > 0 && e.width > 0, "VAE {}: batch {} and latents {}x{} must be positive",
              what, e.batch, e.height, e.width);
}

// x + to_out(attention(group_norm(x))) over the pixels of x [batch, h, w, channels], one head.
void mid_attention(const VaeAttentionWeights& w, const Tensor& x, VaeWorkspace& ws, Tensor& out) {
  const int64_t batch = x.dim(0), channels = x.dim(3), rows = x.numel() / channels;
  Tensor normed = view_of(ws.attention_normed, x.shape());
  w.group_norm(x, Tensor(), false, normed);
  const blocks::AttentionHeads heads{.heads = 1, .kv_heads = 1, .head_dim = channels};
  auto split = [&](const Tensor& flat) { return view_of(flat, {rows, 1, channels}); };
  blocks::AttentionBuffers buffers{.q = split(ws.q), .k = split(ws.k), .v = split(ws.v), .attn = split(ws.attn)};
  Tensor out_rows = out.reshape({rows, channels});
  blocks::dense_self_attention({w.to_q, w.to_k, w.to_v, w.to_out_0}, heads, normed.reshape({rows, channels}), batch,
                               buffers, out_rows);
  ops::add(out, x, out);
}

}  // namespace

NamedWeights vae_decoder_named_weights(const VaeConfig& c, VaeDecoderWeights& w) {
  NamedWeights list;
  const int64_t n = c.levels(), inner = decoder_channels(c, 0), groups = c.norm_num_groups;
  auto resnet_shape = [&](int64_t in, int64_t out) {
    return blocks::ResnetShape{.in_channels = in, .out_channels = out, .groups = groups, .eps = kVaeNormEps};
  };
  if (c.use_post_quant_conv) {
    w.post_quant_conv.name_weights(list, "post_quant_conv", c.latent_channels, c.latent_channels, 1);
  }
  w.conv_in.name_weights(list, "decoder.conv_in", c.latent_channels, inner, 3, blocks::same_padding(3));
  w.mid_resnets[0].name_weights(list, "decoder.mid_block.resnets.0", resnet_shape(inner, inner));
  if (c.mid_block_attention) {
    const std::string a = "decoder.mid_block.attentions.0";
    VaeAttentionWeights& attention = w.mid_attention;
    attention.group_norm.name_weights(list, a + ".group_norm", inner, groups, kVaeNormEps);
    attention.to_q.name_weights(list, a + ".to_q", inner, inner, true);
    attention.to_k.name_weights(list, a + ".to_k", inner, inner, true);
    attention.to_v.name_weights(list, a + ".to_v", inner, inner, true);
    attention.to_out_0.name_weights(list, a + ".to_out.0", inner, inner, true);
  }
  w.mid_resnets[1].name_weights(list, "decoder.mid_block.resnets.1", resnet_shape(inner, inner));
  w.up_blocks.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const std::string name = "decoder.up_blocks." + std::to_string(k);
    VaeUpBlock& block = w.up_blocks[k];
    const int64_t channels = decoder_channels(c, k);
    block.resnets.resize(static_cast<size_t>(c.layers_per_block + 1));
    for (size_t j = 0; j < block.resnets.size(); ++j) {
      block.resnets[j].name_weights(list, name + ".resnets." + std::to_string(j),
                                    resnet_shape(j == 0 ? decoder_channels(c, k - 1) : channels, channels));
    }
    if (k + 1 < n) {
      block.upsampler.name_weights(list, name + ".upsamplers.0.conv", channels, channels, 3, blocks::same_padding(3));
    }
  }
  const int64_t outer = decoder_channels(c, n - 1);
  w.conv_norm_out.name_weights(list, "decoder.conv_norm_out", outer, groups, kVaeNormEps);
  w.conv_out.name_weights(list, "decoder.conv_out", outer, c.out_channels, 3, blocks::same_padding(3));
  return list;
}

VaeDecoder::VaeDecoder(VaeConfig config, VaeDecoderWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {}

VaeDecoder::~VaeDecoder() = default;
VaeDecoder::VaeDecoder(VaeDecoder&&) noexcept = default;

MemoryRequest VaeDecoder::memory_request(const VaeDeviceOptions& o) const {
  GENRT_CHECK(o.dtype == DType::bf16 || o.dtype == DType::f16, "--dtype {}: the GPU runs models in bf16 or f16",
              dtype_name(o.dtype));
  expect_extent(o.extent, "on the GPU");
  if (config_.mid_block_attention) ops::expect_gpu_attention_shape("the VAE", 1, decoder_channels(config_, 0));
  VaeDecoderWeights listed = weights_;  // handles to the same tensors: only their names and shapes are read
  ArenaFootprint persistent;
  VaeWorkspace sizing;
  allocate_activations(config_, o.extent, o.dtype, persistent, sizing);
  return {.name = "VAE decoder",
          .weight_bytes = weight_footprint(vae_decoder_named_weights(config_, listed), o.dtype),
          .persistent_bytes = persistent.bytes};
}

void VaeDecoder::place_on(std::shared_ptr<DeviceRuntime> runtime, const VaeDeviceOptions& o) {
  GENRT_CHECK(!runtime_, "the VAE decoder is already on the GPU");
  runtime->expect_planned(memory_request(o));
  place_weights(*runtime, vae_decoder_named_weights(config_, weights_), o.dtype, "VAE decoder");
  dtype_ = o.dtype;
  runtime_ = std::move(runtime);
}

VaeWorkspace VaeDecoder::make_workspace(const VaeExtent& extent) const {
  expect_extent(extent, "workspace");
  VaeWorkspace ws;
  ws.extent = extent;
  auto allocate = [&](const Shape& shape, DType dtype) {
    return runtime_ ? runtime_->persistent(shape, dtype) : Tensor::zeros(shape, dtype);
  };
  allocate_activations(config_, extent, dtype_, allocate, ws);
  return ws;
}

void VaeDecoder::decode(const Tensor& latents, VaeWorkspace& ws, Tensor& image) const {
  const VaeConfig& c = config_;
  GENRT_CHECK(latents.rank() == 4 && latents.dim(1) == c.latent_channels,
              "VAE: latents {} must be [batch, {}, height, width] (the UNet's out_channels must be the VAE's "
              "latent_channels)",
              shape_string(latents.shape()), c.latent_channels);
  const VaeExtent extent{.batch = latents.dim(0), .height = latents.dim(2), .width = latents.dim(3)};
  expect_extent(extent, "decode");
  GENRT_CHECK(extent.batch <= ws.extent.batch && extent.height <= ws.extent.height && extent.width <= ws.extent.width,
              "VAE: {} latents of {}x{} exceed the workspace's {} of {}x{}", extent.batch, extent.height,
              extent.width, ws.extent.batch, ws.extent.height, ws.extent.width);
  const int64_t f = c.scale_factor(), n = c.levels();
  GENRT_CHECK(image.shape() == Shape({extent.batch, c.out_channels, extent.height * f, extent.width * f}),
              "VAE: image {} must be [{}, {}, {}, {}]", shape_string(image.shape()), extent.batch, c.out_channels,
              extent.height * f, extent.width * f);

  const int64_t latent_pixels = extent.height * extent.width;
  Tensor input = view_of(ws.input, {extent.batch, latent_pixels, c.latent_channels});
  ops::patchify(latents, 1, input);
  Tensor z = input.reshape({extent.batch, extent.height, extent.width, c.latent_channels});
  blocks::PingPong images(ws.current, ws.other);
  if (weights_.post_quant_conv.weight.defined()) {
    Tensor quantized = images.next(z.shape());
    weights_.post_quant_conv(z, quantized);
    z = quantized;
  }
  const Shape inner = decoder_image(extent, 0, decoder_channels(c, 0));
  Tensor h = images.next(inner);
  weights_.conv_in(z, h);
  Tensor next = images.next(inner);
  weights_.mid_resnets[0](h, Tensor(), ws.resnet, next);
  h = next;
  if (c.mid_block_attention) {
    next = images.next(inner);
    mid_attention(weights_.mid_attention, h, ws, next);
    h = next;
  }
  next = images.next(inner);
  weights_.mid_resnets[1](h, Tensor(), ws.resnet, next);
  h = next;
  for (int64_t k = 0; k < n; ++k) {
    const VaeUpBlock& block = weights_.up_blocks[k];
    const Shape shape = decoder_image(extent, k, decoder_channels(c, k));
    for (const blocks::ResnetBlock2D& resnet : block.resnets) {
      next = images.next(shape);
      resnet(h, Tensor(), ws.resnet, next);
      h = next;
    }
    if (k + 1 < n) {
      const Shape outer = decoder_image(extent, k + 1, decoder_channels(c, k));
      Tensor upsampled = images.next(outer);
      ops::upsample_nearest2x(h, upsampled);
      h = images.next(outer);
      block.upsampler(upsampled, h);
    }
  }
  Tensor normed = view_of(ws.resnet.normed, h.shape());
  weights_.conv_norm_out(h, Tensor(), true, normed);
  Tensor pixels = view_of(ws.output, {extent.batch, h.dim(1), h.dim(2), c.out_channels});
  weights_.conv_out(normed, pixels);
  ops::unpatchify(pixels.reshape({extent.batch, h.dim(1) * h.dim(2), c.out_channels}), 1, image);
}

VaeDecoder load_vae_decoder(const std::filesystem::path& model_dir) {
  const auto dir = pipeline_part_dir(model_dir, "vae");
  const auto config_path = dir / "config.json";
  GENRT_CHECK(std::filesystem::exists(config_path), "{}: no config.json (nor vae/config.json): not a diffusers VAE folder",
              model_dir.string());
  const VaeConfig c = vae_config_from_json(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  VaeDecoderWeights w;
  const NamedWeights named = vae_decoder_named_weights(c, w);
  load_named_weights(store, named);
  const int64_t parameters = parameter_count(named);
  spdlog::info("loaded VAE decoder from {}: {} levels up to {} channels, {} latent channels, {}x upscaling, {:.1f}M "
               "parameters",
               dir.string(), c.levels(), decoder_channels(c, 0), c.latent_channels, c.scale_factor(),
               parameters / 1e6);
  return VaeDecoder(c, std::move(w));
}

}  // namespace genrt
