#include "runtime/diffusion/sd_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>
#include <span>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/diffusion_ops.h"
#include "runtime/io/json_file.h"
#include "runtime/models/vae/vae_tiling.h"

namespace genrt {

namespace {

constexpr const char* kSdxlPipeline = "StableDiffusionXLPipeline";
constexpr const char* kSdxlImg2ImgPipeline = "StableDiffusionXLImg2ImgPipeline";

// model_index.json's _class_name, "" without the file (SD folders work without it).
std::string pipeline_class(const std::filesystem::path& dir) {
  const auto path = dir / "model_index.json";
  if (!std::filesystem::exists(path)) return "";
  return json_optional<std::string>(read_json_file(path), "_class_name", "", path.string());
}

// What model_index.json says of a folder.
struct FolderKind {
  bool sdxl = false;
  bool img2img = false;        // StableDiffusionXLImg2ImgPipeline: runs from an init image only
  bool first_encoder = true;   // text_encoder/ and tokenizer/ (SDXL's refiner has neither)
  bool aesthetics = false;     // requires_aesthetics_score: 5 time ids, the last an aesthetic score
  bool force_zeros = true;     // force_zeros_for_empty_prompt
};

// Whether model_index.json names a component: diffusers writes [library, class], or
// [null, null] (or null) for one the pipeline does without.
bool names_component(const nlohmann::json& index, const char* part) {
  if (!index.contains(part) || index[part].is_null()) return false;
  const nlohmann::json& entry = index[part];
  return !(entry.is_array() && std::all_of(entry.begin(), entry.end(), [](const auto& v) { return v.is_null(); }));
}

// The folder's kind, refusing the SDXL pipelines genrt does not run.
FolderKind folder_kind(const std::filesystem::path& dir) {
  const std::string name = pipeline_class(dir);
  GENRT_CHECK(name == kSdxlPipeline || name == kSdxlImg2ImgPipeline || !name.starts_with("StableDiffusionXL"),
              "{}: model_index.json's _class_name {} is not supported (of the SDXL pipelines, {} and {} run)",
              dir.string(), name, kSdxlPipeline, kSdxlImg2ImgPipeline);
  FolderKind kind;
  kind.sdxl = name == kSdxlPipeline || name == kSdxlImg2ImgPipeline;
  if (!kind.sdxl) return kind;
  const auto path = dir / "model_index.json";
  const nlohmann::json index = read_json_file(path);
  kind.img2img = name == kSdxlImg2ImgPipeline;
  kind.force_zeros = json_optional<bool>(index, "force_zeros_for_empty_prompt", true, path.string());
  if (kind.img2img) {
    // diffusers' StableDiffusionXLImg2ImgPipeline defaults requires_aesthetics_score to false.
    kind.aesthetics = json_optional<bool>(index, "requires_aesthetics_score", false, path.string());
    kind.first_encoder = names_component(index, "text_encoder");
    GENRT_CHECK(kind.first_encoder == names_component(index, "tokenizer"),
                "{}: text_encoder is {} but tokenizer is {}: SDXL's first text encoder and its tokenizer come together "
                "(the refiner has neither)",
                path.string(), index.value("text_encoder", nlohmann::json()).dump(),
                index.value("tokenizer", nlohmann::json()).dump());
  }
  return kind;
}

void expect_folder(const std::filesystem::path& dir, const FolderKind& kind) {
  std::vector<const char*> parts{"unet", "vae", "scheduler"};
  if (kind.first_encoder) parts.insert(parts.begin(), {"tokenizer", "text_encoder"});
  if (kind.sdxl) parts.insert(parts.end(), {"tokenizer_2", "text_encoder_2"});
  for (const char* part : parts) {
    GENRT_CHECK(std::filesystem::is_directory(dir / part),
                "{}: no {}/ folder: not a Stable Diffusion{} pipeline folder (diffusers' layout: model_index.json, "
                "{}{} unet/, vae/, scheduler/)",
                dir.string(), part, kind.sdxl ? " XL" : "", kind.first_encoder ? "text_encoder/, tokenizer/," : "",
                kind.sdxl ? " text_encoder_2/, tokenizer_2/," : "");
  }
}

// The parts of a folder must fit together: checked from their configs, before any weight
// is read.
void expect_tokenizer_fits(const ClipTokenizer& tokenizer, const ClipTextConfig& t, const char* tokenizer_dir,
                           const char* encoder_dir) {
  GENRT_CHECK(tokenizer.max_length() <= t.max_position_embeddings,
              "the {} tokens per prompt of {} exceed the {} positions of {}", tokenizer.max_length(), tokenizer_dir,
              t.max_position_embeddings, encoder_dir);
  GENRT_CHECK(tokenizer.vocab_size() <= t.vocab_size,
              "the vocabulary of {} ({}) is larger than that of {} ({}): {} and {} come from different models",
              tokenizer_dir, tokenizer.vocab_size(), encoder_dir, t.vocab_size, tokenizer_dir, encoder_dir);
}

// SDXL's parts: the encoders' widths add up to the UNet's cross-attention width (the
// refiner's, without the first encoder `t`: the second's alone), and the second one's
// projection is the pooled text its added embedding takes beside the time ids.
void expect_sdxl_parts_match(const std::filesystem::path& dir, const ClipTextConfig* t, const UnetConfig& u,
                             const ClipTokenizer* tokenizer, const ClipTokenizer& tokenizer_2) {
  const auto path = dir / "text_encoder_2" / "config.json";
  GENRT_CHECK(std::filesystem::exists(path), "{}: no config.json", (dir / "text_encoder_2").string());
  const ClipTextConfig t2 = clip_text_config_from_json(read_json_file(path), path.string());
  GENRT_CHECK(t2.with_projection(),
              "{}: SDXL's second text encoder must be a CLIPTextModelWithProjection (its pooled, projected output "
              "conditions the UNet)",
              path.string());
  GENRT_CHECK(u.text_time.has_value(),
              "the UNet has no addition_embed_type \"text_time\": unet/ is not an SDXL UNet, which model_index.json "
              "says the pipeline is");
  if (t != nullptr) {
    GENRT_CHECK(t->hidden_size + t2.hidden_size == u.cross_attention_dim,
                "the text encoders' widths {} + {} are not the UNet's cross_attention_dim {}: text_encoder/, "
                "text_encoder_2/ and unet/ come from different models",
                t->hidden_size, t2.hidden_size, u.cross_attention_dim);
  } else {
    GENRT_CHECK(t2.hidden_size == u.cross_attention_dim,
                "{}: text_encoder_2/'s hidden_size {} is not unet/'s cross_attention_dim {}: without text_encoder/ "
                "(SDXL's refiner) the UNet cross-attends to text_encoder_2's states alone, so they come from "
                "different models",
                dir.string(), t2.hidden_size, u.cross_attention_dim);
  }
  const UnetTextTimeEmbedding& e = *u.text_time;
  // diffusers' hint when the time ids are one short or one over: the aesthetic score.
  const int64_t missing = t2.projection_dim - e.text_embeds_dim();
  const char* hint = missing == e.time_embed_dim    ? " (with model_index.json's requires_aesthetics_score true, 5 fit)"
                     : missing == -e.time_embed_dim ? " (with model_index.json's requires_aesthetics_score false, 6 fit)"
                                                    : "";
  GENRT_CHECK(missing == 0,
              "{}: text_encoder_2/'s projection_dim {} is not the pooled text width {} of the UNet's added embedding "
              "(projection_class_embeddings_input_dim {} less {} time ids x addition_time_embed_dim {}){}",
              dir.string(), t2.projection_dim, e.text_embeds_dim(), e.input_dim, e.time_ids, e.time_embed_dim, hint);
  if (tokenizer != nullptr) {
    GENRT_CHECK(tokenizer->max_length() == tokenizer_2.max_length(),
                "tokenizer/ gives {} tokens per prompt and tokenizer_2/ {}: the two encoders' states must line up",
                tokenizer->max_length(), tokenizer_2.max_length());
  }
  expect_tokenizer_fits(tokenizer_2, t2, "tokenizer_2/", "text_encoder_2/");
}

// `tokenizer` null: no first text encoder (SDXL's refiner); `tokenizer_2` null: not SDXL.
// `time_ids`: per sample, for an SDXL UNet's added embedding.
void expect_parts_match(const std::filesystem::path& dir, const ClipTokenizer* tokenizer,
                        const ClipTokenizer* tokenizer_2, int64_t time_ids) {
  auto config = [&](const char* part) {
    const auto path = dir / part / "config.json";
    GENRT_CHECK(std::filesystem::exists(path), "{}: no config.json", (dir / part).string());
    return std::pair{read_json_file(path), path.string()};
  };
  std::optional<ClipTextConfig> t;
  if (tokenizer != nullptr) {
    const auto [text_json, text_where] = config("text_encoder");
    t = clip_text_config_from_json(text_json, text_where);
  }
  const auto [unet_json, unet_where] = config("unet");
  const auto [vae_json, vae_where] = config("vae");
  const UnetConfig u = unet_config_from_json(unet_json, unet_where, time_ids);
  const VaeConfig v = vae_config_from_json(vae_json, vae_where);
  if (tokenizer_2 != nullptr) {
    expect_sdxl_parts_match(dir, t ? &*t : nullptr, u, tokenizer, *tokenizer_2);
  } else {
    GENRT_CHECK(!u.text_time.has_value(),
                "the UNet has SDXL's addition_embed_type \"text_time\", but model_index.json's _class_name is not {}",
                kSdxlPipeline);
    GENRT_CHECK(t->hidden_size == u.cross_attention_dim,
                "the text encoder's width {} is not the UNet's cross_attention_dim {}: text_encoder/ and unet/ come "
                "from different models",
                t->hidden_size, u.cross_attention_dim);
  }
  if (v.has_latent_statistics()) {
    GENRT_CHECK(tokenizer_2 != nullptr,
                "{}: latents_mean and latents_std are not supported in a Stable Diffusion 1.x or 2.x folder: diffusers "
                "reads them in its SDXL pipelines only (StableDiffusionPipeline and StableDiffusionImg2ImgPipeline "
                "ignore them and take latents / scaling_factor), so genrt refuses rather than guess; remove them to "
                "run the folder as diffusers does",
                vae_where);
    GENRT_CHECK(v.latent_channels <= ref::ChannelAffine::kMaxChannels,
                "{}: latents_mean and latents_std of {} latent channels: genrt normalizes latents of at most {}",
                vae_where, v.latent_channels, ref::ChannelAffine::kMaxChannels);
  }
  GENRT_CHECK(u.in_channels == v.latent_channels && u.out_channels == v.latent_channels,
              "the UNet's {} input and {} output channels are not the VAE's {} latent channels: unet/ and vae/ come "
              "from different models",
              u.in_channels, u.out_channels, v.latent_channels);
  if (t) expect_tokenizer_fits(*tokenizer, *t, "tokenizer/", "text_encoder/");
}

// The latent size of an image size: a whole number of latents that the UNet halves at
// each level.
struct LatentSize {
  int64_t height = 0, width = 0;
};

// What one VAE call covers: one image, whole or (tiled) up to a tile.
VaeExtent vae_extent(const VaeConfig& v, bool tiled, int64_t height, int64_t width) {
  const int64_t tile = tiled ? VaeTiling::of(v).tile_latents : std::max(height, width);
  return {.batch = 1, .height = std::min(height, tile), .width = std::min(width, tile)};
}

LatentSize latent_size(const UnetConfig& u, const VaeConfig& v, ImageSize size) {
  const int64_t multiple = v.scale_factor() * u.downscale();
  GENRT_CHECK(size.width > 0 && size.height > 0 && size.width % multiple == 0 && size.height % multiple == 0,
              "image size {}x{}: width and height must be positive multiples of {} (the VAE's scale factor {} times "
              "the UNet's downscale {})",
              size.width, size.height, multiple, v.scale_factor(), u.downscale());
  return {.height = size.height / v.scale_factor(), .width = size.width / v.scale_factor()};
}

}  // namespace

SdPipeline::SdPipeline(std::optional<ClipTokenizer> tokenizer, std::optional<ClipTextModel> text_encoder,
                       std::optional<SdxlTextEncoder2> sdxl, UnetModel unet, VaeModel vae,
                       NoiseSchedulerConfig scheduler, nlohmann::json scheduler_file)
    : tokenizer_(std::move(tokenizer)),
      text_encoder_(std::move(text_encoder)),
      sdxl_(std::move(sdxl)),
      unet_(std::move(unet)),
      vae_(std::move(vae)),
      scheduler_(std::move(scheduler)),
      scheduler_file_(std::move(scheduler_file)) {}

SdPipeline SdPipeline::load(const std::filesystem::path& dir, std::optional<std::string> scheduler,
                            const DiffusionDevice& device, ImageSize max_size) {
  const FolderKind kind = folder_kind(dir);
  expect_folder(dir, kind);
  std::optional<ClipTokenizer> tokenizer;
  if (kind.first_encoder) tokenizer.emplace(ClipTokenizer::open(dir / "tokenizer"));
  std::optional<ClipTokenizer> tokenizer_2;
  if (kind.sdxl) tokenizer_2.emplace(ClipTokenizer::open(dir / "tokenizer_2"));
  const int64_t time_ids =
      kind.aesthetics ? UnetTextTimeEmbedding::kAestheticTimeIds : UnetTextTimeEmbedding::kTimeIds;
  expect_parts_match(dir, tokenizer ? &*tokenizer : nullptr, tokenizer_2 ? &*tokenizer_2 : nullptr, time_ids);
  std::optional<ClipTextModel> text_encoder;
  if (kind.first_encoder) text_encoder.emplace(load_clip_text_model(dir / "text_encoder"));
  std::optional<SdxlTextEncoder2> second;
  if (kind.sdxl) {
    second.emplace(SdxlTextEncoder2{.tokenizer = std::move(*tokenizer_2),
                                    .model = load_clip_text_model(dir / "text_encoder_2"),
                                    .force_zeros_for_empty_prompt = kind.force_zeros,
                                    .requires_aesthetics_score = kind.aesthetics});
  }
  UnetModel unet = load_unet(dir / "unet", time_ids);
  VaeModel vae = load_vae(dir / "vae");

  const auto config_path = dir / "scheduler" / "scheduler_config.json";
  GENRT_CHECK(std::filesystem::exists(config_path), "{}: no scheduler_config.json", (dir / "scheduler").string());
  nlohmann::json file = read_json_file(config_path);
  NoiseSchedulerConfig config = scheduler ? scheduler_config_from_json(file, config_path.string(), *scheduler)
                                          : scheduler_config_from_json(file, config_path.string());
  spdlog::info("scheduler: {} ({})", scheduler_name(config.kind), config_path.string());
  SdPipeline pipeline(std::move(tokenizer), std::move(text_encoder), std::move(second), std::move(unet),
                      std::move(vae), config, std::move(file));
  if (max_size.width == 0) max_size.width = pipeline.default_size().width;
  if (max_size.height == 0) max_size.height = pipeline.default_size().height;
  pipeline.max_size_ = max_size;
  pipeline.vae_tiling_ = device.vae_tiling;
  pipeline.needs_init_image_ = kind.img2img;
  if (device.vae_tiling) {
    const VaeTiling tiling = VaeTiling::of(pipeline.vae_.config());
    spdlog::info("VAE tiling: tiles of {} latents ({} pixels), {} apart, blended over {} pixels", tiling.tile_latents,
                 tiling.tile_latents * pipeline.vae_.config().scale_factor(), tiling.stride, tiling.blend);
  }
  if (device.device == Device::cuda) {
    GENRT_CHECK(device.max_images > 0, "text to image on the GPU: max images {} must be positive", device.max_images);
    const LatentSize latents = latent_size(pipeline.unet_.config(), pipeline.vae_.config(), max_size);
    const int64_t samples = 2 * device.max_images, tokens = pipeline.prompt_tokenizer().max_length();
    const ClipTextDeviceOptions text_options{
        .dtype = device.dtype, .gpu_memory = device.gpu_memory, .max_batch = samples};
    const UnetDeviceOptions unet_options{
        .dtype = device.dtype,
        .extent = {.batch = samples, .height = latents.height, .width = latents.width, .text_tokens = tokens},
        .cuda_graphs = device.cuda_graphs};
    // The VAE encodes and decodes one image (or tile) at a time: its full-resolution
    // activations are the largest. The encoder goes to the GPU whenever the checkpoint has it.
    const bool encoder = pipeline.vae_.has_encoder();
    const VaeConfig& vae = pipeline.vae_.config();
    const VaeExtent extent = vae_extent(vae, device.vae_tiling, latents.height, latents.width);
    // SDXL's pipeline runs a force_upcast VAE in f32 where the rest is f16 (its VAE
    // overflows f16); bf16 has f32's range.
    const bool upcast = pipeline.sdxl_ && device.dtype == DType::f16 && vae.force_upcast;
    if (upcast) spdlog::info("the VAE asks for force_upcast: it runs in bf16 where the other models run in f16");
    const VaeDeviceOptions vae_options{
        .dtype = upcast ? DType::bf16 : device.dtype, .extent = extent, .encoder = encoder};
    ArenaFootprint decode;  // a run's VAE buffers: one image's (or tile's) latents and pixels each way
    const int64_t f = vae.scale_factor();
    decode(Shape{vae.latent_channels * extent.height * extent.width}, DType::f32);
    decode(Shape{vae.out_channels * extent.height * f * extent.width * f}, DType::f32);
    if (encoder) {
      decode(Shape{1, vae.in_channels, max_size.height, max_size.width}, DType::f32);
      decode(Shape{1, 2 * vae.latent_channels, latents.height, latents.width}, DType::f32);
    }
    const int64_t channels = vae.latent_channels;
    std::vector<MemoryRequest> requests = {
        pipeline.unet_.memory_request(unet_options), pipeline.vae_.memory_request(vae_options),
        loop_memory_request({device.max_images, channels, latents.height, latents.width}, channels),
        {.name = "VAE image buffers", .persistent_bytes = decode.bytes}};
    if (pipeline.text_encoder_) requests.push_back(pipeline.text_encoder_->memory_request(text_options));
    if (pipeline.sdxl_) requests.push_back(pipeline.sdxl_->model.memory_request(text_options));
    if (pipeline.sdxl_ && pipeline.text_encoder_) {
      // The two encoders' states joined (sdxl_conditioning); the refiner's are text_encoder_2's own.
      ArenaFootprint text;
      const int64_t width = pipeline.unet_.config().cross_attention_dim;
      text(Shape{samples, tokens, width}, device.dtype);
      requests.push_back({.name = "SDXL text states", .persistent_bytes = text.bytes});
    }
    auto runtime = std::make_shared<DeviceRuntime>(requests, device.gpu_memory);
    if (pipeline.text_encoder_) pipeline.text_encoder_->place_on(runtime, text_options);
    if (pipeline.sdxl_) pipeline.sdxl_->model.place_on(runtime, text_options);
    pipeline.unet_.place_on(runtime, unet_options);
    pipeline.vae_.place_on(runtime, vae_options);
    pipeline.max_images_ = device.max_images;
  }
  return pipeline;
}

NoiseSchedulerConfig SdPipeline::scheduler_config(std::string_view name) const {
  return scheduler_config_from_json(scheduler_file_, "scheduler_config.json", name);
}

int64_t SdPipeline::parameter_count() const {
  // The weights' lists give the shapes; fresh weight structs only receive their names.
  ClipTextWeights text, text_2;
  UnetWeights unet;
  const int64_t second =
      sdxl_ ? genrt::parameter_count(clip_text_named_weights(sdxl_->model.config(), text_2)) : 0;
  const int64_t first =
      text_encoder_ ? genrt::parameter_count(clip_text_named_weights(text_encoder_->config(), text)) : 0;
  return first + second +
         genrt::parameter_count(unet_named_weights(unet_.config(), unet)) + vae_.parameter_count();
}

std::optional<uint64_t> SdPipeline::planned_device_bytes() const {
  const DeviceRuntime* runtime = unet_.device_runtime();
  if (runtime == nullptr) return std::nullopt;
  return runtime->plan().total_bytes();
}

ImageSize SdPipeline::default_size() const {
  const int64_t side = unet_.config().sample_size * vae_.config().scale_factor();
  return {.width = side, .height = side};
}

ImageSize SdPipeline::size_of(const TextToImageRequest& request) const {
  const ImageSize fallback = request.init_image.defined() && request.init_image.rank() == 4
                                 ? ImageSize{.width = request.init_image.dim(3), .height = request.init_image.dim(2)}
                                 : default_size();
  return {.width = request.width > 0 ? request.width : fallback.width,
          .height = request.height > 0 ? request.height : fallback.height};
}

void SdPipeline::check(const TextToImageRequest& request) const { checked_scheduler(request); }

std::unique_ptr<NoiseScheduler> SdPipeline::checked_scheduler(const TextToImageRequest& request) const {
  const ImageSize size = size_of(request);
  const LatentSize latents = latent_size(unet_.config(), vae_.config(), size);
  GENRT_CHECK(request.images > 0, "text to image: {} images: ask for at least one", request.images);
  GENRT_CHECK(std::isfinite(request.guidance), "text to image: guidance {} is not a finite number", request.guidance);
  GENRT_CHECK(!needs_init_image_ || request.init_image.defined(),
              "text to image: the pipeline is a {} (SDXL's refiner, or image to image), which runs from an init image "
              "only, as diffusers' does: give one (with a strength)",
              kSdxlImg2ImgPipeline);
  GENRT_CHECK(std::isfinite(request.aesthetic_score) && std::isfinite(request.negative_aesthetic_score),
              "text to image: aesthetic scores {} and {} must be finite numbers", request.aesthetic_score,
              request.negative_aesthetic_score);
  int64_t layers = text_encoder_ ? text_encoder_->config().num_hidden_layers : sdxl_->model.config().num_hidden_layers;
  if (sdxl_) layers = std::min(layers, sdxl_->model.config().num_hidden_layers);
  GENRT_CHECK(request.clip_skip >= 0 && request.clip_skip < layers,
              "text to image: clip skip {} must leave at least one of the text encoder's {} layers", request.clip_skip,
              layers);
  // Throws for a step count it cannot take.
  std::unique_ptr<NoiseScheduler> scheduler = make_scheduler(request.scheduler.value_or(scheduler_), request.steps);
  if (request.init_image.defined()) {
    GENRT_CHECK(vae_.has_encoder(),
                "image to image: the pipeline's VAE checkpoint holds no encoder weights (encoder.*), which it needs");
    const Tensor& image = request.init_image;
    GENRT_CHECK(image.rank() == 4 && image.dim(0) == 1 && image.dim(1) == vae_.config().in_channels &&
                    image.dim(2) == size.height && image.dim(3) == size.width,
                "image to image: the init image {} must be [1, {}, {}, {}]: images are made at its size",
                shape_string(image.shape()), vae_.config().in_channels, size.height, size.width);
    GENRT_CHECK(request.strength > 0.0 && request.strength <= 1.0,
                "image to image: strength {} must be in (0, 1]", request.strength);
    // diffusers' get_timesteps: the last floor(steps * strength) steps.
    const auto redrawn = std::min(static_cast<int64_t>(static_cast<double>(request.steps) * request.strength),
                                  request.steps);
    GENRT_CHECK(redrawn >= 1, "image to image: strength {} of {} steps runs no step (it runs floor(steps x strength)): "
                "raise the strength or the steps", request.strength, request.steps);
    scheduler->start_at(request.steps - redrawn);
    const VaeExtent tile = vae_extent(vae_.config(), vae_tiling_, latents.height, latents.width);
    GENRT_CHECK(tile.height == latents.height && tile.width == latents.width,
                "image to image: the encoder runs untiled, and VAE tiling plans for tiles of {}x{} latents: an init "
                "image of {}x{} latents is too large (run without VAE tiling)",
                tile.height, tile.width, latents.height, latents.width);
  }
  const Shape latent_shape{request.images, vae_.config().latent_channels, latents.height, latents.width};
  GENRT_CHECK(!request.init_noise.defined() || request.init_noise.shape() == latent_shape,
              "initial noise {} does not match the latents {} of {} images", shape_string(request.init_noise.shape()),
              shape_string(latent_shape), request.images);
  if (unet_.device_runtime() != nullptr) {
    GENRT_CHECK(request.images <= max_images_,
                "text to image: {} images, but the GPU memory was planned for at most {} per run", request.images,
                max_images_);
    GENRT_CHECK(size.width <= max_size_.width && size.height <= max_size_.height,
                "text to image: {}x{} images, but the GPU memory was planned for at most {}x{}", size.width,
                size.height, max_size_.width, max_size_.height);
  }
  return scheduler;
}

PngText SdPipeline::png_text(const TextToImageRequest& r, std::string_view model) const {
  const ImageSize size = size_of(r);
  std::string text = r.prompt;
  if (!r.negative_prompt.empty()) text += "\nNegative prompt: " + r.negative_prompt;
  text += fmt::format("\nSteps: {}, Sampler: {}, CFG scale: {}, Seed: {}, Size: {}x{}, Model: {}", r.steps,
                      scheduler_name(r.scheduler.value_or(scheduler_).kind), r.guidance, r.seed, size.width,
                      size.height, model);
  if (r.clip_skip > 0) text += fmt::format(", Clip skip: {}", r.clip_skip + 1);
  if (r.init_image.defined()) text += fmt::format(", Denoising strength: {}", r.strength);
  return {{"parameters", text}, {"Software", std::string("genrt ") + GENRT_VERSION}};
}

namespace {

// Where a run's buffers come from: the runtime's persistent region on the GPU.
using Allocate = std::function<Tensor(const Shape&, DType)>;

// Which way latents cross the VAE: the encoder's into the loop's, or the loop's into the
// decoder.
enum class VaeSide { encode, decode };

// The per-channel map of a VAE with latent statistics, as diffusers' SDXL pipelines apply
// it (prepare_latents, and before vae.decode), as one fma per value:
//   encode: (encoded - mean) * scaling_factor / std = encoded * (sf / std) - mean * sf / std
//   decode: latents * std / scaling_factor + mean
ref::ChannelAffine latent_affine(const VaeConfig& c, VaeSide side) {
  GENRT_CHECK(c.latent_channels <= ref::ChannelAffine::kMaxChannels &&
                  std::ssize(c.latents_mean) == c.latent_channels && std::ssize(c.latents_std) == c.latent_channels,
              "latent statistics: {} and {} values for {} latent channels (at most {})", c.latents_mean.size(),
              c.latents_std.size(), c.latent_channels, ref::ChannelAffine::kMaxChannels);
  ref::ChannelAffine a{.channels = c.latent_channels};
  const double sf = c.scaling_factor;
  for (int64_t i = 0; i < c.latent_channels; ++i) {
    const double m = c.latents_mean[i], s = c.latents_std[i];
    a.scale[i] = static_cast<float>(side == VaeSide::encode ? sf / s : s / sf);
    a.shift[i] = static_cast<float>(side == VaeSide::encode ? -m * sf / s : m);
  }
  return a;
}

// `in` [1, channels, h, w] across the VAE into each image of `out` [k, channels, h, w], on
// their device: by the latent statistics when the VAE has them (the folder is SDXL's: see
// expect_parts_match), else by scaling_factor (encode) or its inverse (decode) alone.
void cross_vae(const VaeConfig& c, VaeSide side, const Tensor& in, Tensor& out) {
  if (!c.has_latent_statistics()) {
    const double scale = side == VaeSide::encode ? c.scaling_factor : 1.0 / c.scaling_factor;
    ops::guidance_input(in, static_cast<float>(scale), out);
    return;
  }
  const ref::ChannelAffine affine = latent_affine(c, side);
  for (int64_t i = 0; i < out.dim(0); ++i) {
    Tensor image = out.slice(i, i + 1);
    ops::channel_affine(in, affine, image);
  }
}

// Image to image's clean latents: the encoder's mean latents of `image` (in [0, 1], taken
// to [-1, 1]), times the scaling factor (with latent statistics: normalized by them, see
// latent_affine), in `latents` for every image of the run.
void encode_init_image(const VaeModel& vae, const Tensor& image, DeviceRuntime* runtime, const Allocate& allocate,
                       VaeWorkspace& ws, Tensor& latents) {
  const Tensor given = image.to_f32();
  Tensor pixels = Tensor::zeros(given.shape(), DType::f32);
  std::transform(given.span<float>().begin(), given.span<float>().end(), pixels.span<float>().begin(),
                 [](float v) { return 2.0f * v - 1.0f; });
  if (runtime != nullptr) {
    Tensor on_device = allocate(pixels.shape(), DType::f32);
    runtime->copy_in(pixels, on_device);
    pixels = on_device;
  }
  const int64_t channels = vae.config().latent_channels, h = latents.dim(2), w = latents.dim(3);
  Tensor moments = allocate({1, 2 * channels, h, w}, DType::f32);
  const auto step = step_on(runtime);
  vae.encode(pixels, ws, moments);
  const Tensor mean = moments.reshape({2, channels, h, w}).slice(0, 1).reshape({1, channels, h, w});
  cross_vae(vae.config(), VaeSide::encode, mean, latents);
}

// Each image's latents / scaling_factor (with latent statistics: denormalized by them, see
// latent_affine) through the VAE (whole on the device, or tile by tile from the host's copy
// `host_latents`), then (x / 2 + 0.5) clamped to [0, 1] as
// diffusers' image processor does: [images, channels, height, width] on the host.
Tensor decode_images(const VaeModel& vae, bool tiled, const Tensor& latents, const Tensor& host_latents,
                     DeviceRuntime* runtime, const Allocate& allocate, VaeWorkspace& ws) {
  const VaeConfig& c = vae.config();
  const int64_t images = latents.dim(0), f = c.scale_factor();
  const Shape one_latent{1, c.latent_channels, latents.dim(2), latents.dim(3)};
  const Shape one_image{1, c.out_channels, latents.dim(2) * f, latents.dim(3) * f};
  const Tensor latent_buffer = allocate({c.latent_channels * ws.extent.height * ws.extent.width}, DType::f32);
  const Tensor pixel_buffer = allocate({c.out_channels * ws.extent.height * f * ws.extent.width * f}, DType::f32);
  Tensor out = Tensor::zeros({images, c.out_channels, one_image[2], one_image[3]}, DType::f32);
  for (int64_t i = 0; i < images; ++i) {
    Tensor host;
    if (tiled) {
      Tensor scaled = Tensor::zeros(one_latent, DType::f32);
      cross_vae(c, VaeSide::decode, host_latents.slice(i, i + 1), scaled);
      host = Tensor::zeros(one_image, DType::f32);
      vae.decode_tiled(scaled, ws, latent_buffer, pixel_buffer, host);
    } else {
      Tensor scaled = blocks::view_of(latent_buffer, one_latent);
      Tensor pixels = blocks::view_of(pixel_buffer, one_image);
      {
        const auto step = step_on(runtime);
        cross_vae(c, VaeSide::decode, latents.slice(i, i + 1), scaled);
        vae.decode(scaled, ws, pixels);
      }
      host = runtime != nullptr ? runtime->download_f32(pixels) : pixels;
    }
    const std::span<const float> from = host.span<float>();
    std::transform(from.begin(), from.end(), out.data<float>() + i * host.numel(),
                   [](float v) { return std::clamp(v * 0.5f + 0.5f, 0.0f, 1.0f); });
  }
  return out;
}

}  // namespace

TextToImageResult SdPipeline::run(const TextToImageRequest& request, const DiffusionCallback& on_step) const {
  const auto setup_start = LoopClock::now();
  const std::unique_ptr<NoiseScheduler> scheduler = checked_scheduler(request);
  const LatentSize latents = latent_size(unet_.config(), vae_.config(), size_of(request));
  const int64_t images = request.images;
  DeviceRuntime* runtime = unet_.device_runtime();
  const bool guided = request.guidance > 1.0;
  const int64_t samples = guided ? 2 * images : images;

  TextToImageResult result;
  const int64_t tokens = prompt_tokenizer().max_length();

  // Every buffer of the run, planned up front: the loop allocates nothing. On the GPU they
  // are persistent buffers of the pipeline's runtime, sized at load.
  std::optional<DeviceRuntime::PersistentScope> run_buffers;  // freed however the run ends
  if (runtime != nullptr) run_buffers.emplace(*runtime);
  Allocate allocate = [&](const Shape& shape, DType dtype) {
    return runtime != nullptr ? runtime->persistent(shape, dtype) : Tensor::zeros(shape, dtype);
  };
  std::optional<ClipTextWorkspace> text_workspace;
  if (text_encoder_) text_workspace.emplace(text_encoder_->make_workspace(samples));
  std::optional<ClipTextWorkspace> text_workspace_2;
  Tensor text;  // persistent: valid across steps
  UnetAddedConditions added;
  std::vector<float> time_ids;
  const PromptBatch prompts{.prompt = request.prompt,
                            .negative_prompt = request.negative_prompt,
                            .images = images,
                            .guided = guided,
                            .clip_skip = request.clip_skip};
  if (sdxl_) {
    text_workspace_2.emplace(sdxl_->model.make_workspace(samples));
    const SdxlConditioning conditioning =
        sdxl_conditioning(prompts, tokenizer_ ? &*tokenizer_ : nullptr, text_encoder_ ? &*text_encoder_ : nullptr,
                          *sdxl_, text_workspace ? &*text_workspace : nullptr, *text_workspace_2, allocate, runtime);
    text = conditioning.text;
    result.prompt_truncated = conditioning.prompt_truncated;
    const ImageSize size = size_of(request);
    time_ids = sdxl_->requires_aesthetics_score
                   ? sdxl_aesthetic_time_ids(size.height, size.width, prompts, request.aesthetic_score,
                                             request.negative_aesthetic_score)
                   : sdxl_time_ids(size.height, size.width, samples);
    added = {.text_embeds = conditioning.pooled, .time_ids = time_ids};
  } else {
    const Tensor ids = prompt_batch_ids(*tokenizer_, prompts, result.prompt_truncated);
    const auto step = step_on(runtime);
    text = text_encoder_->forward(ids, request.clip_skip, *text_workspace);
  }
  UnetWorkspace unet_workspace = unet_.make_workspace(
      {.batch = samples, .height = latents.height, .width = latents.width, .text_tokens = tokens});
  const int64_t channels = vae_.config().latent_channels;
  LoopBuffers b = allocate_loop_buffers({images, channels, latents.height, latents.width}, channels, guided,
                                        scheduler->uses_x0_history(), allocate);
  VaeWorkspace vae_workspace = vae_.make_workspace(vae_extent(vae_.config(), vae_tiling_, latents.height, latents.width));
  const LoopSettings settings{
      .scheduler = *scheduler, .guidance = request.guidance, .guided = guided, .seed = request.seed, .runtime = runtime};
  if (request.init_image.defined()) {
    encode_init_image(vae_, request.init_image, runtime, allocate, vae_workspace, b.latents);
    noise_clean_latents(settings, request.init_noise, b);
  } else {
    start_latents(settings, request.init_noise, b);
  }
  result.setup_seconds = seconds_since(setup_start);

  std::vector<float> timesteps(static_cast<size_t>(samples));
  const LoopResult loop = denoise(
      settings,
      [&](const Tensor& model_input, float t, Tensor& model_output) {
        std::fill(timesteps.begin(), timesteps.end(), t);
        unet_.forward(model_input, timesteps, text, unet_workspace, model_output, added);
      },
      b, on_step);
  result.steps_done = loop.steps_done;
  result.cancelled = loop.cancelled;
  result.seconds = loop.seconds;
  result.latents = runtime != nullptr ? runtime->download_f32(b.latents) : b.latents;
  if (result.cancelled) return result;

  const auto decode_start = LoopClock::now();
  result.images = decode_images(vae_, vae_tiling_, b.latents, result.latents, runtime, allocate, vae_workspace);
  result.decode_seconds = seconds_since(decode_start);
  return result;
}

std::vector<uint8_t> to_rgb8(const Tensor& images, int64_t index) {
  GENRT_CHECK(images.rank() == 4 && images.dim(1) == 3 && index >= 0 && index < images.dim(0),
              "to_rgb8: image {} of {}: expected [images, 3, height, width]", index, shape_string(images.shape()));
  const int64_t pixels = images.dim(2) * images.dim(3);
  const float* planes = images.data<float>() + index * 3 * pixels;
  std::vector<uint8_t> rgb(static_cast<size_t>(3 * pixels));
  for (int64_t p = 0; p < pixels; ++p) {
    for (int64_t c = 0; c < 3; ++c) {
      const float v = std::clamp(planes[c * pixels + p], 0.0f, 1.0f);
      rgb[static_cast<size_t>(3 * p + c)] = static_cast<uint8_t>(std::lround(v * 255.0f));
    }
  }
  return rgb;
}

Tensor from_rgb8(const RgbImage& image) {
  const int64_t pixels = image.width * image.height;
  GENRT_CHECK(pixels > 0 && std::ssize(image.pixels) == 3 * pixels, "from_rgb8: a {}x{} RGB image needs {} bytes, got {}",
              image.width, image.height, 3 * pixels, image.pixels.size());
  Tensor planes = Tensor::zeros({1, 3, image.height, image.width}, DType::f32);
  float* to = planes.data<float>();
  for (int64_t p = 0; p < pixels; ++p) {
    for (int64_t c = 0; c < 3; ++c) to[c * pixels + p] = static_cast<float>(image.pixels[3 * p + c]) / 255.0f;
  }
  return planes;
}

}  // namespace genrt
