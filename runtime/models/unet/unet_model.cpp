#include "runtime/models/unet/unet_model.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/diffusion_ops.h"
#include "runtime/backend/gpu_limits.h"
#include "runtime/backend/ops.h"
#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/model_files.h"
#include "runtime/models/blocks/timestep_features.h"

namespace genrt {

namespace {

// diffusers' Timesteps as the UNet configures them, for the timestep and for SDXL's time ids.
blocks::TimestepFeatureParams timestep_feature_params(const UnetConfig& c) {
  return {.flip_sin_to_cos = c.flip_sin_to_cos, .downscale_freq_shift = static_cast<float>(c.freq_shift)};
}

using blocks::view_of;

int64_t level_count(const UnetConfig& c) { return static_cast<int64_t>(c.levels.size()); }

// Channels of level i, clamped to the levels there are (the neighbours of the outer ones).
int64_t level_channels(const UnetConfig& c, int64_t i) {
  return c.levels[static_cast<size_t>(std::clamp<int64_t>(i, 0, level_count(c) - 1))].channels;
}

bool has_attention(const UnetConfig& c, int64_t i) {
  const UnetLevel& l = c.levels[static_cast<size_t>(i)];
  return l.down_attention || l.up_attention || i == level_count(c) - 1;  // the mid block at the innermost
}

// The shape of the image at level i of an extent, with `channels`.
Shape level_image(const UnetExtent& e, int64_t i, int64_t channels) {
  return {e.batch, e.height >> i, e.width >> i, channels};
}

// The skip connections the down path saves, in order: conv_in's output, then each down
// ResNet layer's (after its attention) and each downsampler's.
std::vector<Shape> skip_shapes(const UnetConfig& c, const UnetExtent& e) {
  std::vector<Shape> shapes{level_image(e, 0, level_channels(c, 0))};
  for (int64_t i = 0; i < level_count(c); ++i) {
    const int64_t channels = level_channels(c, i);
    for (int64_t j = 0; j < c.levels[i].layers; ++j) shapes.push_back(level_image(e, i, channels));
    if (i + 1 < level_count(c)) shapes.push_back(level_image(e, i + 1, channels));
  }
  return shapes;
}

// The buffers of a workspace for `e`, each from alloc(shape, dtype): one function for
// allocating them and for sizing the plan. Every level's images fit in `image` values: its
// widest input is an up block's, its own or the inner level's channels joined with a
// skip's of its own or the outer level's.
template <class Alloc>
void allocate_activations(const UnetConfig& c, const UnetExtent& e, DType dtype, Alloc& alloc, UnetWorkspace& ws) {
  const int64_t b = e.batch, pixels = e.height * e.width;
  int64_t image = b * pixels * std::max(c.in_channels, c.out_channels), rows_c = 0, qkv = 0, widest = 0;
  for (int64_t i = 0; i < level_count(c); ++i) {
    const int64_t level_pixels = b * (e.height >> i) * (e.width >> i), channels = level_channels(c, i);
    const int64_t joined = std::max({level_channels(c, i - 1), channels, level_channels(c, i + 1)});
    image = std::max(image, level_pixels * 2 * joined);
    widest = std::max(widest, channels);
    if (has_attention(c, i)) {
      rows_c = std::max(rows_c, level_pixels * channels);
      qkv = std::max(qkv, std::max(3 * level_pixels, 2 * b * e.text_tokens + level_pixels) * channels);
    }
  }
  auto flat = [&](int64_t n) { return alloc(Shape{std::max<int64_t>(n, 1)}, dtype); };
  ws.input = flat(b * pixels * c.in_channels);
  ws.output = flat(b * pixels * c.out_channels);
  for (Tensor* t : {&ws.current, &ws.other, &ws.joined, &ws.resnet.normed, &ws.resnet.hidden}) *t = flat(image);
  ws.resnet.channel_add = flat(b * widest);
  UnetTransformerBuffers& t = ws.transformer;
  for (Tensor* buffer : {&t.tokens, &t.normed, &t.branch, &t.attn}) *buffer = flat(rows_c);
  t.qkv = flat(qkv);
  t.ff_proj = flat(8 * rows_c);
  t.ff_act = flat(4 * rows_c);
  ws.skips.clear();
  for (const Shape& shape : skip_shapes(c, e)) ws.skips.push_back(flat(shape_numel(shape)));
  for (Tensor* buffer : {&ws.timestep_hidden, &ws.temb, &ws.temb_silu}) *buffer = alloc({b, c.time_embed_dim()}, dtype);
  ws.timestep_features = alloc({b, level_channels(c, 0)}, dtype);
  if (c.text_time) {
    ws.added_input = alloc({b, c.text_time->input_dim}, dtype);
    for (Tensor* buffer : {&ws.added_hidden, &ws.added_temb}) *buffer = alloc({b, c.time_embed_dim()}, dtype);
    ws.time_id_features = alloc({b, c.text_time->time_features()}, dtype);
  }
}

// Each forward's uploads (into the workspace's timestep_features and time_id_features):
// the pinned staging they take.
template <class Alloc>
void allocate_uploads(const UnetConfig& c, const UnetExtent& e, DType dtype, Alloc& alloc) {
  alloc({e.batch, level_channels(c, 0)}, dtype);
  if (c.text_time) alloc({e.batch, c.text_time->time_features()}, dtype);
}

void expect_extent(const UnetConfig& c, const UnetExtent& e, const char* what) {
  GENRT_CHECK(e.batch > 0 && e.height > 0 && e.width > 0 && e.text_tokens > 0,
              "UNet {}: batch {}, latents {}x{} and {} text tokens must be positive", what, e.batch, e.height,
              e.width, e.text_tokens);
  GENRT_CHECK(e.height % c.downscale() == 0 && e.width % c.downscale() == 0,
              "UNet {}: latents of {}x{} do not halve {} times (the image size must be a multiple of {} times the "
              "VAE's scale factor)",
              what, e.height, e.width, level_count(c) - 1, c.downscale());
}

}  // namespace

NamedWeights unet_named_weights(const UnetConfig& c, UnetWeights& w) {
  NamedWeights list;
  const int64_t c0 = level_channels(c, 0), temb = c.time_embed_dim(), n = level_count(c);
  const auto groups = c.norm_num_groups;
  const auto eps = static_cast<float>(c.norm_eps);
  auto resnet_shape = [&](int64_t in, int64_t out) {
    return blocks::ResnetShape{.in_channels = in, .out_channels = out, .temb_channels = temb, .groups = groups,
                               .eps = eps};
  };
  auto transformer_shape = [&](int64_t i) {
    return UnetTransformerShape{.channels = level_channels(c, i),
                                .heads = c.levels[i].heads,
                                .layers = c.levels[i].transformer_layers,
                                .cross_attention_dim = c.cross_attention_dim,
                                .groups = groups,
                                .linear_projection = c.use_linear_projection};
  };
  w.conv_in.name_weights(list, "conv_in", c.in_channels, c0, 3, blocks::same_padding(3));
  w.time_embedding_linear_1.name_weights(list, "time_embedding.linear_1", c0, temb, true);
  w.time_embedding_linear_2.name_weights(list, "time_embedding.linear_2", temb, temb, true);
  if (c.text_time) {
    w.add_embedding_linear_1.name_weights(list, "add_embedding.linear_1", c.text_time->input_dim, temb, true);
    w.add_embedding_linear_2.name_weights(list, "add_embedding.linear_2", temb, temb, true);
  }

  w.down_blocks.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const std::string name = "down_blocks." + std::to_string(i);
    UnetDownBlock& block = w.down_blocks[i];
    const UnetLevel& level = c.levels[i];
    block.resnets.resize(static_cast<size_t>(level.layers));
    block.attentions.resize(level.down_attention ? static_cast<size_t>(level.layers) : 0);
    for (int64_t j = 0; j < level.layers; ++j) {
      const std::string index = std::to_string(j);
      block.resnets[j].name_weights(list, name + ".resnets." + index,
                                    resnet_shape(j == 0 ? level_channels(c, i - 1) : level.channels, level.channels));
      if (level.down_attention) {
        block.attentions[j].name_weights(list, name + ".attentions." + index, transformer_shape(i));
      }
    }
    if (i + 1 < n) {
      block.downsampler.name_weights(list, name + ".downsamplers.0.conv", level.channels, level.channels, 3,
                                     {.stride = 2, .padding = 1});
    }
  }

  const int64_t inner = level_channels(c, n - 1);
  w.mid_resnets[0].name_weights(list, "mid_block.resnets.0", resnet_shape(inner, inner));
  w.mid_attention.name_weights(list, "mid_block.attentions.0", transformer_shape(n - 1));
  w.mid_resnets[1].name_weights(list, "mid_block.resnets.1", resnet_shape(inner, inner));

  w.up_blocks.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = n - 1 - k;  // the level this up block mirrors
    const std::string name = "up_blocks." + std::to_string(k);
    UnetUpBlock& block = w.up_blocks[k];
    const UnetLevel& level = c.levels[i];
    const int64_t layers = level.layers + 1;
    block.resnets.resize(static_cast<size_t>(layers));
    block.attentions.resize(level.up_attention ? static_cast<size_t>(layers) : 0);
    for (int64_t j = 0; j < layers; ++j) {
      const std::string index = std::to_string(j);
      const int64_t from = j == 0 ? level_channels(c, i + 1) : level.channels;
      const int64_t skip = j == layers - 1 ? level_channels(c, i - 1) : level.channels;
      block.resnets[j].name_weights(list, name + ".resnets." + index, resnet_shape(from + skip, level.channels));
      if (level.up_attention) {
        block.attentions[j].name_weights(list, name + ".attentions." + index, transformer_shape(i));
      }
    }
    if (i > 0) {
      block.upsampler.name_weights(list, name + ".upsamplers.0.conv", level.channels, level.channels, 3,
                                   blocks::same_padding(3));
    }
  }
  w.conv_norm_out.name_weights(list, "conv_norm_out", c0, groups, eps);
  w.conv_out.name_weights(list, "conv_out", c0, c.out_channels, 3, blocks::same_padding(3));
  return list;
}

UnetModel::UnetModel(UnetConfig config, UnetWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {}

UnetModel::~UnetModel() = default;
UnetModel::UnetModel(UnetModel&&) noexcept = default;

MemoryRequest UnetModel::memory_request(const UnetDeviceOptions& o) const {
  GENRT_CHECK(o.dtype == DType::bf16 || o.dtype == DType::f16, "--dtype {}: the GPU runs models in bf16 or f16",
              dtype_name(o.dtype));
  expect_extent(config_, o.extent, "on the GPU");
  // A shape the kernels do not take fails here, before any weight is uploaded.
  for (int64_t i = 0; i < level_count(config_); ++i) {
    if (has_attention(config_, i)) {
      const UnetLevel& level = config_.levels[i];
      ops::expect_gpu_attention_shape("the UNet", level.heads, level.channels / level.heads);
      ops::expect_gpu_norm_dim("the UNet", level.channels);
    }
  }
  UnetWeights listed = weights_;  // handles to the same tensors: only their names and shapes are read
  ArenaFootprint persistent, uploads;
  UnetWorkspace sizing;
  allocate_activations(config_, o.extent, o.dtype, persistent, sizing);
  allocate_uploads(config_, o.extent, o.dtype, uploads);
  return {.name = "UNet",
          .weight_bytes = weight_footprint(unet_named_weights(config_, listed), o.dtype),
          .persistent_bytes = persistent.bytes,
          .step_upload_bytes = uploads.bytes,
          // One workspace, so one graph, at a time: a run's (the pipeline makes one per run).
          .graph_bytes = o.cuda_graphs ? DeviceRuntime::kGraphBytes : 0};
}

void UnetModel::place_on(std::shared_ptr<DeviceRuntime> runtime, const UnetDeviceOptions& o) {
  GENRT_CHECK(!runtime_, "the UNet is already on the GPU");
  runtime->expect_planned(memory_request(o));
  place_weights(*runtime, unet_named_weights(config_, weights_), o.dtype, "UNet");
  dtype_ = o.dtype;
  runtime_ = std::move(runtime);
  cuda_graphs_ = o.cuda_graphs;
}

UnetWorkspace UnetModel::make_workspace(const UnetExtent& extent) const {
  expect_extent(config_, extent, "workspace");
  UnetWorkspace ws;
  ws.extent = extent;
  auto allocate = [&](const Shape& shape, DType dtype) {
    return runtime_ ? runtime_->persistent(shape, dtype) : Tensor::zeros(shape, dtype);
  };
  allocate_activations(config_, extent, dtype_, allocate, ws);
  ws.transformer.image = ws.resnet.normed;  // a transformer's GroupNorm runs between ResNets
  ws.host_timestep_features = Tensor::zeros({extent.batch, level_channels(config_, 0)}, DType::f32);
  if (config_.text_time) {
    ws.host_time_id_features = Tensor::zeros({extent.batch, config_.text_time->time_features()}, DType::f32);
  }
  return ws;
}

void UnetModel::embed_timesteps(const Tensor& features, const Tensor& text_embeds, const Tensor& time_id_features,
                                UnetWorkspace& ws, Tensor& temb_silu) const {
  const int64_t batch = features.dim(0);
  Tensor hidden = ws.timestep_hidden.slice(0, batch), temb = ws.temb.slice(0, batch);
  weights_.time_embedding_linear_1(features, hidden);
  ops::silu(hidden, hidden);
  weights_.time_embedding_linear_2(hidden, temb);
  if (config_.text_time) {  // temb += add_embedding(text_embeds | time id features)
    Tensor input = ws.added_input.slice(0, batch), added_hidden = ws.added_hidden.slice(0, batch);
    Tensor added_temb = ws.added_temb.slice(0, batch);
    ops::concat_channels(text_embeds, time_id_features, input);
    weights_.add_embedding_linear_1(input, added_hidden);
    ops::silu(added_hidden, added_hidden);
    weights_.add_embedding_linear_2(added_hidden, added_temb);
    ops::add(temb, added_temb, temb);
  }
  ops::silu(temb, temb_silu);  // every consumer (the ResNets' time projections) takes silu(temb)
}

void UnetModel::forward(const Tensor& latents, std::span<const float> timesteps, const Tensor& text,
                        UnetWorkspace& ws, Tensor& output, const UnetAddedConditions& added) const {
  const UnetConfig& c = config_;
  const int64_t batch = latents.rank() == 4 ? latents.dim(0) : 0;
  GENRT_CHECK(latents.rank() == 4 && latents.dim(1) == c.in_channels,
              "UNet: latents {} must be [batch, {}, height, width]", shape_string(latents.shape()), c.in_channels);
  const int64_t height = latents.dim(2), width = latents.dim(3);
  const UnetExtent extent{.batch = batch, .height = height, .width = width,
                          .text_tokens = text.rank() == 3 ? text.dim(1) : 0};
  expect_extent(c, extent, "forward");
  GENRT_CHECK(batch <= ws.extent.batch && height <= ws.extent.height && width <= ws.extent.width &&
                  extent.text_tokens <= ws.extent.text_tokens,
              "UNet: a batch of {} latents of {}x{} with {} text tokens exceeds the workspace's {} of {}x{} with {}",
              batch, height, width, extent.text_tokens, ws.extent.batch, ws.extent.height, ws.extent.width,
              ws.extent.text_tokens);
  GENRT_CHECK(std::ssize(timesteps) == batch, "UNet: {} timesteps for a batch of {}", timesteps.size(), batch);
  GENRT_CHECK(text.rank() == 3 && text.dim(0) == batch && text.dim(2) == c.cross_attention_dim,
              "UNet: text states {} must be [{}, tokens, {}] (the text encoder's width must be the UNet's "
              "cross_attention_dim)",
              shape_string(text.shape()), batch, c.cross_attention_dim);
  GENRT_CHECK(output.shape() == Shape({batch, c.out_channels, height, width}), "UNet: output {} must be [{}, {}, {}, {}]",
              shape_string(output.shape()), batch, c.out_channels, height, width);

  if (c.text_time) {
    const int64_t dim = c.text_time->text_embeds_dim();
    GENRT_CHECK(added.text_embeds.defined() && added.text_embeds.shape() == Shape({batch, dim}),
                "UNet: its addition_embed_type \"text_time\" (SDXL) needs pooled text embeds [{}, {}], got {}", batch,
                dim, added.text_embeds.defined() ? shape_string(added.text_embeds.shape()) : "none");
    GENRT_CHECK(std::ssize(added.time_ids) == c.text_time->time_ids * batch,
                "UNet: its addition_embed_type \"text_time\" (SDXL) needs {} time ids per sample, got {} for a batch "
                "of {}",
                c.text_time->time_ids, added.time_ids.size(), batch);
  } else {
    GENRT_CHECK(!added.text_embeds.defined() && added.time_ids.empty(),
                "UNet: added text embeds and time ids given, but its config has no addition_embed_type");
  }

  // The step's inputs, made on the host: the timestep's sinusoidal features and SDXL's time
  // ids' (diffusers' add_time_proj, the same features of each id).
  blocks::timestep_features(timesteps, level_channels(c, 0), timestep_feature_params(c),
                            ws.host_timestep_features.data<float>());
  Tensor features = ws.host_timestep_features.slice(0, batch), time_id_features;
  if (c.text_time) {
    blocks::timestep_features(added.time_ids, c.text_time->time_embed_dim, timestep_feature_params(c),
                              ws.host_time_id_features.data<float>());
    time_id_features = ws.host_time_id_features.slice(0, batch);
  }
  if (!runtime_) {
    run_layers(latents, text, features, added.text_embeds, time_id_features, ws, output);
    return;
  }
  const Tensor device_features = ws.timestep_features.slice(0, batch);
  runtime_->upload(features, device_features);
  Tensor device_time_id_features;
  if (c.text_time) {
    device_time_id_features = ws.time_id_features.slice(0, batch);
    runtime_->upload(time_id_features, device_time_id_features);
  }
  const auto layers = [&] {
    run_layers(latents, text, device_features, added.text_embeds, device_time_id_features, ws, output);
  };
  if (!cuda_graphs_) {
    layers();
    return;
  }
  // Everything the graph reads besides the workspace: a run keeps these buffers and shape.
  ws.graph.run(*runtime_,
               {static_cast<uintptr_t>(batch), static_cast<uintptr_t>(height), static_cast<uintptr_t>(width),
                static_cast<uintptr_t>(extent.text_tokens), reinterpret_cast<uintptr_t>(latents.raw()),
                reinterpret_cast<uintptr_t>(text.raw()), reinterpret_cast<uintptr_t>(added.text_embeds.raw()),
                reinterpret_cast<uintptr_t>(output.raw())},
               layers, fmt::format("the UNet step of batch {} at {}x{}", batch, height, width));
}

void UnetModel::run_layers(const Tensor& latents, const Tensor& text, const Tensor& features,
                           const Tensor& text_embeds, const Tensor& time_id_features, UnetWorkspace& ws,
                           Tensor& output) const {
  const UnetConfig& c = config_;
  const int64_t batch = latents.dim(0), height = latents.dim(2), width = latents.dim(3);
  const UnetExtent extent{.batch = batch, .height = height, .width = width, .text_tokens = text.dim(1)};
  Tensor temb_silu = ws.temb_silu.slice(0, batch);
  embed_timesteps(features, text_embeds, time_id_features, ws, temb_silu);
  const Tensor context = text.reshape({batch * extent.text_tokens, c.cross_attention_dim});
  Tensor input = view_of(ws.input, {batch, height * width, c.in_channels});
  ops::patchify(latents, 1, input);  // NCHW f32 -> NHWC in the model's dtype

  // The running image sits in a skip buffer or in one of the pair `images`, whose other
  // buffer takes each block's output that is not a skip connection.
  std::vector<Tensor> skips;
  skips.reserve(ws.skips.size());
  size_t next_skip = 0;
  auto save_skip = [&](const Shape& shape) { return skips.emplace_back(view_of(ws.skips.at(next_skip++), shape)); };
  blocks::PingPong images(ws.current, ws.other);

  Tensor h = save_skip(level_image(extent, 0, level_channels(c, 0)));
  weights_.conv_in(input.reshape({batch, height, width, c.in_channels}), h);
  for (int64_t i = 0; i < level_count(c); ++i) {
    const UnetDownBlock& block = weights_.down_blocks[i];
    const Shape shape = level_image(extent, i, c.levels[i].channels);
    for (size_t j = 0; j < block.resnets.size(); ++j) {
      if (block.attentions.empty()) {
        Tensor out = save_skip(shape);
        block.resnets[j](h, temb_silu, ws.resnet, out);
        h = out;
      } else {
        Tensor mid = images.next(shape);
        block.resnets[j](h, temb_silu, ws.resnet, mid);
        h = save_skip(shape);
        block.attentions[j](mid, context, ws.transformer, h);
      }
    }
    if (i + 1 < level_count(c)) {
      Tensor out = save_skip(level_image(extent, i + 1, c.levels[i].channels));
      block.downsampler(h, out);
      h = out;
    }
  }

  const int64_t n = level_count(c);
  const Shape inner = level_image(extent, n - 1, level_channels(c, n - 1));
  Tensor a = images.next(inner);
  weights_.mid_resnets[0](h, temb_silu, ws.resnet, a);
  Tensor b = images.next(inner);
  weights_.mid_attention(a, context, ws.transformer, b);
  h = images.next(inner);
  weights_.mid_resnets[1](b, temb_silu, ws.resnet, h);

  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = n - 1 - k;
    const UnetUpBlock& block = weights_.up_blocks[k];
    const Shape shape = level_image(extent, i, c.levels[i].channels);
    for (size_t j = 0; j < block.resnets.size(); ++j) {
      const Tensor skip = skips.back();
      skips.pop_back();
      Shape joined_shape = h.shape();
      joined_shape.back() += skip.dim(-1);
      Tensor joined = view_of(ws.joined, joined_shape);
      ops::concat_channels(h, skip, joined);
      Tensor out = images.next(shape);
      block.resnets[j](joined, temb_silu, ws.resnet, out);
      h = out;
      if (!block.attentions.empty()) {
        Tensor attended = images.next(shape);
        block.attentions[j](h, context, ws.transformer, attended);
        h = attended;
      }
    }
    if (i > 0) {
      const Shape outer = level_image(extent, i - 1, c.levels[i].channels);
      Tensor upsampled = images.next(outer);
      ops::upsample_nearest2x(h, upsampled);
      h = images.next(outer);
      block.upsampler(upsampled, h);
    }
  }
  GENRT_CHECK(skips.empty() && next_skip == ws.skips.size(), "UNet: {} skip connections left unused", skips.size());

  Tensor normed = view_of(ws.resnet.normed, h.shape());
  weights_.conv_norm_out(h, Tensor(), true, normed);
  Tensor predicted = view_of(ws.output, {batch, height, width, c.out_channels});
  weights_.conv_out(normed, predicted);
  ops::unpatchify(predicted.reshape({batch, height * width, c.out_channels}), 1, output);
}

UnetModel load_unet(const std::filesystem::path& model_dir, int64_t time_ids) {
  const auto dir = pipeline_part_dir(model_dir, "unet");
  const auto config_path = dir / "config.json";
  GENRT_CHECK(std::filesystem::exists(config_path), "{}: no config.json (nor unet/config.json): not a diffusers UNet folder",
              model_dir.string());
  const UnetConfig c = unet_config_from_json(read_json_file(config_path), config_path.string(), time_ids);
  const WeightStore store = WeightStore::open_dir(dir);
  UnetWeights w;
  const NamedWeights named = unet_named_weights(c, w);
  load_named_weights(store, named);
  const int64_t parameters = parameter_count(named);
  spdlog::info("loaded UNet from {}: {} levels of {} channels, cross-attention to {} features, {:.1f}M parameters",
               dir.string(), c.levels.size(), c.levels.back().channels, c.cross_attention_dim, parameters / 1e6);
  return UnetModel(c, std::move(w));
}

}  // namespace genrt
