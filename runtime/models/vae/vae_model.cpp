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
#include "runtime/models/vae/vae_tiling.h"

namespace genrt {

namespace {

using blocks::view_of;

// diffusers builds every norm of the VAE with eps 1e-6.
constexpr float kVaeNormEps = 1e-6f;

// Channels of decoder level k (0: the innermost, at the latents' size).
int64_t decoder_channels(const VaeConfig& c, int64_t k) {
  return c.block_out_channels[static_cast<size_t>(c.levels() - 1 - std::clamp<int64_t>(k, 0, c.levels() - 1))];
}

// Channels of encoder level k (0: the outermost, at the image's size).
int64_t encoder_channels(const VaeConfig& c, int64_t k) {
  return c.block_out_channels[static_cast<size_t>(std::clamp<int64_t>(k, 0, c.levels() - 1))];
}

Shape decoder_image(const VaeExtent& e, int64_t k, int64_t channels) {
  return {e.batch, e.height << k, e.width << k, channels};
}

Shape encoder_image(const VaeExtent& e, int64_t levels, int64_t k, int64_t channels) {
  return decoder_image(e, levels - 1 - k, channels);
}

template <class Alloc>
void allocate_activations(const VaeConfig& c, const VaeExtent& e, bool encoder, DType dtype, Alloc& alloc,
                          VaeWorkspace& ws) {
  const int64_t latent_pixels = e.batch * e.height * e.width, n = c.levels();
  const int64_t out_pixels = latent_pixels << (2 * (n - 1));
  int64_t image = 0;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t pixels = latent_pixels << (2 * k);
    image = std::max(image, pixels * std::max({decoder_channels(c, k - 1), decoder_channels(c, k), c.out_channels}));
    if (encoder) {
      // Level j = n - 1 - k of the encoder runs at this size, from level j - 1's channels.
      const int64_t j = n - 1 - k;
      image = std::max(image, pixels * std::max({encoder_channels(c, j - 1), encoder_channels(c, j), c.in_channels}));
    }
  }
  if (encoder) image = std::max(image, latent_pixels * 2 * c.latent_channels);
  int64_t input = latent_pixels * c.latent_channels, output = out_pixels * c.out_channels;
  if (encoder) {
    input = std::max(input, out_pixels * c.in_channels);
    output = std::max(output, latent_pixels * 2 * c.latent_channels);
  }
  auto flat = [&](int64_t numel) { return alloc(Shape{numel}, dtype); };
  ws.input = flat(input);
  ws.output = flat(output);
  for (Tensor* t : {&ws.current, &ws.other, &ws.resnet.normed, &ws.resnet.hidden}) *t = flat(image);
  const int64_t tokens = latent_pixels * decoder_channels(c, 0);
  for (Tensor* t : {&ws.attention_normed, &ws.attn}) *t = flat(tokens);
  ws.qkv = flat(3 * tokens);
}

void expect_extent(const VaeExtent& e, const char* what) {
  GENRT_CHECK(e.batch > 0 && e.height > 0 && e.width > 0, "VAE {}: batch {} and latents {}x{} must be positive",
              what, e.batch, e.height, e.width);
}

void expect_within(const VaeExtent& e, const VaeWorkspace& ws, const char* what) {
  expect_extent(e, what);
  GENRT_CHECK(e.batch <= ws.extent.batch && e.height <= ws.extent.height && e.width <= ws.extent.width,
              "VAE {}: {} images of {}x{} latents exceed the workspace's {} of {}x{}", what, e.batch, e.height,
              e.width, ws.extent.batch, ws.extent.height, ws.extent.width);
}

blocks::ResnetShape resnet_shape(const VaeConfig& c, int64_t in, int64_t out) {
  return {.in_channels = in, .out_channels = out, .groups = c.norm_num_groups, .eps = kVaeNormEps};
}

void name_mid_block(NamedWeights& list, const VaeConfig& c, const std::string& name, VaeMidBlock& w) {
  const int64_t channels = c.block_out_channels.back();
  w.resnets[0].name_weights(list, name + ".resnets.0", resnet_shape(c, channels, channels));
  if (c.mid_block_attention) {
    const std::string a = name + ".attentions.0";
    VaeAttentionWeights& attention = w.attention;
    attention.group_norm.name_weights(list, a + ".group_norm", channels, c.norm_num_groups, kVaeNormEps);
    attention.to_qkv.name_fused_weights(
        list, {{a + ".to_q", channels}, {a + ".to_k", channels}, {a + ".to_v", channels}}, channels, true);
    attention.to_out_0.name_weights(list, a + ".to_out.0", channels, channels, true);
  }
  w.resnets[1].name_weights(list, name + ".resnets.1", resnet_shape(c, channels, channels));
}

// x + to_out(attention(group_norm(x))) over the pixels of x [batch, h, w, channels], one head.
void mid_attention(const VaeAttentionWeights& w, const Tensor& x, VaeWorkspace& ws, Tensor& out) {
  const int64_t batch = x.dim(0), channels = x.dim(3), rows = x.numel() / channels;
  Tensor normed = view_of(ws.attention_normed, x.shape());
  w.group_norm(x, Tensor(), false, normed);
  const blocks::AttentionHeads heads{.heads = 1, .kv_heads = 1, .head_dim = channels};
  auto split = [&](const Tensor& flat) { return view_of(flat, {rows, 1, channels}); };
  blocks::AttentionBuffers buffers{.parts = blocks::attention_parts(ws.qkv, 3, rows, heads), .attn = split(ws.attn)};
  Tensor out_rows = out.reshape({rows, channels});
  blocks::dense_self_attention({w.to_qkv, w.to_out_0}, heads, normed.reshape({rows, channels}), batch, buffers,
                               out_rows);
  ops::add(out, x, out);
}

// The mid block over h, through the workspace's running images; returns its output.
Tensor run_mid_block(const VaeMidBlock& w, bool attention, Tensor h, VaeWorkspace& ws, blocks::PingPong& images) {
  Tensor next = images.next(h.shape());
  w.resnets[0](h, Tensor(), ws.resnet, next);
  h = next;
  if (attention) {
    next = images.next(h.shape());
    mid_attention(w.attention, h, ws, next);
    h = next;
  }
  next = images.next(h.shape());
  w.resnets[1](h, Tensor(), ws.resnet, next);
  return next;
}

}  // namespace

NamedWeights vae_decoder_named_weights(const VaeConfig& c, VaeDecoderWeights& w) {
  NamedWeights list;
  const int64_t n = c.levels(), inner = decoder_channels(c, 0), groups = c.norm_num_groups;
  if (c.use_post_quant_conv) {
    w.post_quant_conv.name_weights(list, "post_quant_conv", c.latent_channels, c.latent_channels, 1);
  }
  w.conv_in.name_weights(list, "decoder.conv_in", c.latent_channels, inner, 3, blocks::same_padding(3));
  name_mid_block(list, c, "decoder.mid_block", w.mid_block);
  w.up_blocks.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const std::string name = "decoder.up_blocks." + std::to_string(k);
    VaeUpBlock& block = w.up_blocks[k];
    const int64_t channels = decoder_channels(c, k);
    block.resnets.resize(static_cast<size_t>(c.layers_per_block + 1));
    for (size_t j = 0; j < block.resnets.size(); ++j) {
      block.resnets[j].name_weights(list, name + ".resnets." + std::to_string(j),
                                    resnet_shape(c, j == 0 ? decoder_channels(c, k - 1) : channels, channels));
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

NamedWeights vae_encoder_named_weights(const VaeConfig& c, VaeEncoderWeights& w) {
  NamedWeights list;
  const int64_t n = c.levels(), moments = 2 * c.latent_channels;
  w.conv_in.name_weights(list, "encoder.conv_in", c.in_channels, encoder_channels(c, 0), 3, blocks::same_padding(3));
  w.down_blocks.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const std::string name = "encoder.down_blocks." + std::to_string(k);
    VaeDownBlock& block = w.down_blocks[k];
    const int64_t channels = encoder_channels(c, k);
    block.resnets.resize(static_cast<size_t>(c.layers_per_block));
    for (size_t j = 0; j < block.resnets.size(); ++j) {
      block.resnets[j].name_weights(list, name + ".resnets." + std::to_string(j),
                                    resnet_shape(c, j == 0 ? encoder_channels(c, k - 1) : channels, channels));
    }
    if (k + 1 < n) {
      // diffusers' Downsample2D with padding 0 pads (0, 1, 0, 1) itself: the last row and
      // column of zeros only.
      block.downsampler.name_weights(list, name + ".downsamplers.0.conv", channels, channels, 3,
                                     {.stride = 2, .padding = 0, .extra_padding_end = 1});
    }
  }
  name_mid_block(list, c, "encoder.mid_block", w.mid_block);
  const int64_t inner = encoder_channels(c, n - 1);
  w.conv_norm_out.name_weights(list, "encoder.conv_norm_out", inner, c.norm_num_groups, kVaeNormEps);
  w.conv_out.name_weights(list, "encoder.conv_out", inner, moments, 3, blocks::same_padding(3));
  if (c.use_quant_conv) w.quant_conv.name_weights(list, "quant_conv", moments, moments, 1);
  return list;
}

VaeModel::VaeModel(VaeConfig config, VaeDecoderWeights decoder, std::optional<VaeEncoderWeights> encoder)
    : config_(std::move(config)), decoder_(std::move(decoder)), encoder_(std::move(encoder)) {}

VaeModel::~VaeModel() = default;
VaeModel::VaeModel(VaeModel&&) noexcept = default;

int64_t VaeModel::parameter_count() const {
  // Fresh weight structs only receive the names and shapes.
  VaeDecoderWeights decoder;
  VaeEncoderWeights encoder;
  return genrt::parameter_count(vae_decoder_named_weights(config_, decoder)) +
         (encoder_ ? genrt::parameter_count(vae_encoder_named_weights(config_, encoder)) : 0);
}

MemoryRequest VaeModel::memory_request(const VaeDeviceOptions& o) const {
  GENRT_CHECK(o.dtype == DType::bf16 || o.dtype == DType::f16, "--dtype {}: the GPU runs models in bf16 or f16",
              dtype_name(o.dtype));
  expect_extent(o.extent, "on the GPU");
  GENRT_CHECK(!o.encoder || encoder_, "the VAE's checkpoint holds no encoder (encoder.*): image-to-image needs it");
  if (config_.mid_block_attention) ops::expect_gpu_attention_shape("the VAE", 1, decoder_channels(config_, 0));
  VaeDecoderWeights decoder;  // fresh structs: only the names and shapes are read
  VaeEncoderWeights encoder;
  uint64_t weight_bytes = weight_footprint(vae_decoder_named_weights(config_, decoder), o.dtype);
  if (o.encoder) weight_bytes += weight_footprint(vae_encoder_named_weights(config_, encoder), o.dtype);
  ArenaFootprint persistent;
  VaeWorkspace sizing;
  allocate_activations(config_, o.extent, o.encoder, o.dtype, persistent, sizing);
  return {.name = o.encoder ? "VAE" : "VAE decoder", .weight_bytes = weight_bytes, .persistent_bytes = persistent.bytes};
}

void VaeModel::place_on(std::shared_ptr<DeviceRuntime> runtime, const VaeDeviceOptions& o) {
  GENRT_CHECK(!runtime_, "the VAE is already on the GPU");
  runtime->expect_planned(memory_request(o));
  place_weights(*runtime, vae_decoder_named_weights(config_, decoder_), o.dtype, "VAE decoder");
  if (o.encoder) {
    place_weights(*runtime, vae_encoder_named_weights(config_, *encoder_), o.dtype, "VAE encoder");
  } else {
    encoder_.reset();  // not planned: the GPU cannot encode
  }
  dtype_ = o.dtype;
  runtime_ = std::move(runtime);
}

VaeWorkspace VaeModel::make_workspace(const VaeExtent& extent) const {
  expect_extent(extent, "workspace");
  VaeWorkspace ws;
  ws.extent = extent;
  auto allocate = [&](const Shape& shape, DType dtype) {
    return runtime_ ? runtime_->persistent(shape, dtype) : Tensor::zeros(shape, dtype);
  };
  allocate_activations(config_, extent, has_encoder(), dtype_, allocate, ws);
  return ws;
}

void VaeModel::decode(const Tensor& latents, VaeWorkspace& ws, Tensor& image) const {
  const VaeConfig& c = config_;
  GENRT_CHECK(latents.rank() == 4 && latents.dim(1) == c.latent_channels,
              "VAE: latents {} must be [batch, {}, height, width] (the UNet's out_channels must be the VAE's "
              "latent_channels)",
              shape_string(latents.shape()), c.latent_channels);
  const VaeExtent extent{.batch = latents.dim(0), .height = latents.dim(2), .width = latents.dim(3)};
  expect_within(extent, ws, "decode");
  const int64_t f = c.scale_factor(), n = c.levels();
  GENRT_CHECK(image.shape() == Shape({extent.batch, c.out_channels, extent.height * f, extent.width * f}),
              "VAE: image {} must be [{}, {}, {}, {}]", shape_string(image.shape()), extent.batch, c.out_channels,
              extent.height * f, extent.width * f);

  const int64_t latent_pixels = extent.height * extent.width;
  Tensor input = view_of(ws.input, {extent.batch, latent_pixels, c.latent_channels});
  ops::patchify(latents, 1, input);
  Tensor z = input.reshape({extent.batch, extent.height, extent.width, c.latent_channels});
  blocks::PingPong images(ws.current, ws.other);
  if (decoder_.post_quant_conv.weight.defined()) {
    Tensor quantized = images.next(z.shape());
    decoder_.post_quant_conv(z, quantized);
    z = quantized;
  }
  Tensor h = images.next(decoder_image(extent, 0, decoder_channels(c, 0)));
  decoder_.conv_in(z, h);
  h = run_mid_block(decoder_.mid_block, c.mid_block_attention, h, ws, images);
  for (int64_t k = 0; k < n; ++k) {
    const VaeUpBlock& block = decoder_.up_blocks[k];
    const Shape shape = decoder_image(extent, k, decoder_channels(c, k));
    for (const blocks::ResnetBlock2D& resnet : block.resnets) {
      Tensor next = images.next(shape);
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
  decoder_.conv_norm_out(h, Tensor(), true, normed);
  Tensor pixels = view_of(ws.output, {extent.batch, h.dim(1), h.dim(2), c.out_channels});
  decoder_.conv_out(normed, pixels);
  ops::unpatchify(pixels.reshape({extent.batch, h.dim(1) * h.dim(2), c.out_channels}), 1, image);
}

void VaeModel::encode(const Tensor& image, VaeWorkspace& ws, Tensor& moments) const {
  const VaeConfig& c = config_;
  GENRT_CHECK(encoder_, "the VAE's checkpoint holds no encoder (encoder.*): image-to-image needs it");
  const int64_t f = c.scale_factor(), n = c.levels(), channels = 2 * c.latent_channels;
  GENRT_CHECK(image.rank() == 4 && image.dim(1) == c.in_channels && image.dim(2) % f == 0 && image.dim(3) % f == 0,
              "VAE: image {} must be [batch, {}, height, width] with height and width multiples of {}",
              shape_string(image.shape()), c.in_channels, f);
  const VaeExtent extent{.batch = image.dim(0), .height = image.dim(2) / f, .width = image.dim(3) / f};
  expect_within(extent, ws, "encode");
  GENRT_CHECK(moments.shape() == Shape({extent.batch, channels, extent.height, extent.width}),
              "VAE: moments {} must be [{}, {}, {}, {}]", shape_string(moments.shape()), extent.batch, channels,
              extent.height, extent.width);

  const VaeEncoderWeights& w = *encoder_;
  Tensor input = view_of(ws.input, {extent.batch, image.dim(2) * image.dim(3), c.in_channels});
  ops::patchify(image, 1, input);
  blocks::PingPong images(ws.current, ws.other);
  Tensor h = images.next(encoder_image(extent, n, 0, encoder_channels(c, 0)));
  w.conv_in(input.reshape({extent.batch, image.dim(2), image.dim(3), c.in_channels}), h);
  for (int64_t k = 0; k < n; ++k) {
    const VaeDownBlock& block = w.down_blocks[k];
    const Shape shape = encoder_image(extent, n, k, encoder_channels(c, k));
    for (const blocks::ResnetBlock2D& resnet : block.resnets) {
      Tensor next = images.next(shape);
      resnet(h, Tensor(), ws.resnet, next);
      h = next;
    }
    if (k + 1 < n) {
      Tensor next = images.next(encoder_image(extent, n, k + 1, encoder_channels(c, k)));
      block.downsampler(h, next);
      h = next;
    }
  }
  h = run_mid_block(w.mid_block, c.mid_block_attention, h, ws, images);
  Tensor normed = view_of(ws.resnet.normed, h.shape());
  w.conv_norm_out(h, Tensor(), true, normed);
  const Shape moments_nhwc{extent.batch, extent.height, extent.width, channels};
  Tensor out = view_of(ws.output, moments_nhwc);
  if (w.quant_conv.weight.defined()) {
    Tensor unquantized = images.next(moments_nhwc);
    w.conv_out(normed, unquantized);
    w.quant_conv(unquantized, out);
  } else {
    w.conv_out(normed, out);
  }
  ops::unpatchify(out.reshape({extent.batch, extent.height * extent.width, channels}), 1, moments);
}

void VaeModel::decode_tiled(const Tensor& latents, VaeWorkspace& ws, const Tensor& tile_latents,
                            const Tensor& tile_pixels, Tensor& image) const {
  const VaeConfig& c = config_;
  GENRT_CHECK(latents.device() == Device::cpu && image.device() == Device::cpu && latents.rank() == 4,
              "VAE tiled decode: latents and image must be [batch, channels, height, width] on the host");
  const VaeTiling tiling = VaeTiling::of(c);
  const int64_t f = c.scale_factor();
  // Host latents of up to a tile to host pixels, through the device.
  auto decode_tile = [&](const Tensor& z) {
    const Shape pixels{z.dim(0), c.out_channels, z.dim(2) * f, z.dim(3) * f};
    if (runtime_ == nullptr) {
      Tensor decoded = Tensor::zeros(pixels, DType::f32);
      decode(z, ws, decoded);
      return decoded;
    }
    const Tensor z_device = view_of(tile_latents, z.shape());
    Tensor pixels_device = view_of(tile_pixels, pixels);
    runtime_->copy_in(z, z_device);
    {
      DeviceRuntime::Step step(*runtime_);
      decode(z_device, ws, pixels_device);
    }
    return runtime_->download_f32(pixels_device);
  };
  // As diffusers: latents within one tile decode whole.
  if (latents.dim(2) <= tiling.tile_latents && latents.dim(3) <= tiling.tile_latents) {
    const Tensor decoded = decode_tile(latents);
    GENRT_CHECK(decoded.shape() == image.shape(), "VAE tiled decode: image {} must be {}", shape_string(image.shape()),
                shape_string(decoded.shape()));
    std::copy(decoded.span<float>().begin(), decoded.span<float>().end(), image.data<float>());
    return;
  }
  std::vector<std::vector<Tensor>> decoded;
  for (const std::vector<LatentTile>& row : latent_tiles(tiling, latents.dim(2), latents.dim(3))) {
    auto& out = decoded.emplace_back();
    for (const LatentTile& tile : row) out.push_back(decode_tile(crop_latents(latents, tile)));
  }
  blend_tiles(tiling, decoded, image);
}

VaeModel load_vae(const std::filesystem::path& model_dir) {
  const auto dir = pipeline_part_dir(model_dir, "vae");
  const auto config_path = dir / "config.json";
  GENRT_CHECK(std::filesystem::exists(config_path), "{}: no config.json (nor vae/config.json): not a diffusers VAE folder",
              model_dir.string());
  const VaeConfig c = vae_config_from_json(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  VaeDecoderWeights decoder;
  load_named_weights(store, vae_decoder_named_weights(c, decoder));
  std::optional<VaeEncoderWeights> encoder;
  if (store.contains("encoder.conv_in.weight")) {
    encoder.emplace();
    load_named_weights(store, vae_encoder_named_weights(c, *encoder));
  }
  VaeModel vae(c, std::move(decoder), std::move(encoder));
  spdlog::info("loaded VAE from {}: {} levels up to {} channels, {} latent channels, {}x scaling, {}, {:.1f}M "
               "parameters",
               dir.string(), c.levels(), decoder_channels(c, 0), c.latent_channels, c.scale_factor(),
               vae.has_encoder() ? "encoder and decoder" : "decoder only", vae.parameter_count() / 1e6);
  return vae;
}

}  // namespace genrt
