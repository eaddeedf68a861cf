// The C API's diffusion entries (include/genrt/genrt.h): exception-free, over the C++
// DiffusionModel.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "genrt/diffusion.hpp"
#include "genrt/genrt.h"
#include "runtime/api/c_api_support.h"

struct genrt_diffusion_model {
  genrt::api::DiffusionModel model;
};

namespace {

using namespace genrt::c_api;

LiveHandles<genrt_diffusion_model> diffusion_models("genrt_diffusion_model");

// The C options as the C++ API's, or a failed status naming what is wrong.
genrt_status read_txt2img_options(const genrt_txt2img_options* options, const char* fn,
                                  genrt::api::TextToImageOptions& out) {
  // Callers built before image to image pass the struct up to init_noise_count.
  constexpr size_t kTextOnlySize = offsetof(genrt_txt2img_options, init_image);
  if (options == nullptr || options->struct_size < kTextOnlySize) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(fn) + ": options is NULL or its struct_size is too small: "
                                              "call genrt_txt2img_options_init first");
  }
  if (options->prompt == nullptr) return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(fn) + ": prompt is NULL");
  if (options->init_noise == nullptr && options->init_noise_count != 0) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(fn) + ": init_noise is NULL but init_noise_count is not 0");
  }
  out.prompt = options->prompt;
  out.negative_prompt = options->negative_prompt != nullptr ? options->negative_prompt : "";
  out.steps = options->steps;
  out.guidance = options->guidance;
  out.seed = options->seed;
  out.width = options->width;
  out.height = options->height;
  out.images = static_cast<int64_t>(options->n_images);
  out.clip_skip = options->clip_skip;
  if (options->scheduler != nullptr) out.scheduler = options->scheduler;
  if (options->init_noise != nullptr) {
    out.init_noise.assign(options->init_noise, options->init_noise + options->init_noise_count);
  }
  if (options->struct_size < sizeof(genrt_txt2img_options) || options->init_image == nullptr) return GENRT_OK;
  if (options->init_image_width <= 0 || options->init_image_height <= 0) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(fn) + ": init_image of " +
                                                  std::to_string(options->init_image_width) + "x" +
                                                  std::to_string(options->init_image_height) + " pixels");
  }
  const auto bytes = static_cast<size_t>(options->init_image_width * options->init_image_height * 3);
  out.init_image.assign(options->init_image, options->init_image + bytes);
  out.init_image_width = options->init_image_width;
  out.init_image_height = options->init_image_height;
  out.strength = options->strength;
  return GENRT_OK;
}

// Bytes of the images a request makes: its size, its init image's, or the pipeline's default.
size_t image_bytes(const genrt_diffusion_model* model, const genrt::api::TextToImageOptions& o) {
  const int64_t side = model->model.info().image_size;
  const bool from_image = !o.init_image.empty();
  const int64_t width = o.width > 0 ? o.width : from_image ? o.init_image_width : side;
  const int64_t height = o.height > 0 ? o.height : from_image ? o.init_image_height : side;
  return static_cast<size_t>(std::max<int64_t>(o.images, 0) * width * height * 3);
}

size_t latent_count(const genrt_diffusion_model* model, size_t images) {
  const genrt::api::DiffusionModelInfo info = model->model.info();
  return images * static_cast<size_t>(info.latent_channels * info.latent_size * info.latent_size);
}

}  // namespace

extern "C" {

void genrt_diffusion_options_init(genrt_diffusion_options* o) {
  if (o == nullptr) return;
  *o = {sizeof(genrt_diffusion_options), nullptr, 0, 4.0f, 50, 0, nullptr, nullptr};
}

genrt_status genrt_diffusion_model_load(const char* path, const genrt_load_options* options,
                                        genrt_diffusion_model** model) {
  return diffusion_models.open("genrt_diffusion_model_load", path, options, model, genrt::api::DiffusionModel::load);
}

genrt_status genrt_diffusion_model_free(genrt_diffusion_model* model) {
  return diffusion_models.close(model, "genrt_diffusion_model_free");
}

genrt_status genrt_diffusion_model_memory(const genrt_diffusion_model* model, genrt_memory_usage* usage) {
  if (genrt_status s = diffusion_models.check(model, "genrt_diffusion_model_memory"); s != GENRT_OK) return s;
  return guarded([&] { return write_memory_usage(model->model.memory(), usage, "genrt_diffusion_model_memory"); });
}

genrt_status genrt_diffusion_latent_count(const genrt_diffusion_model* model, size_t n_images, size_t* count) {
  if (genrt_status s = diffusion_models.check(model, "genrt_diffusion_latent_count"); s != GENRT_OK) return s;
  if (count == nullptr) return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_diffusion_latent_count: count is NULL");
  return guarded([&] {
    *count = latent_count(model, n_images);
    return GENRT_OK;
  });
}

genrt_status genrt_diffuse(const genrt_diffusion_model* model, const genrt_diffusion_options* options,
                           genrt_diffusion_callback callback, void* user_data, float* latents, size_t capacity,
                           genrt_diffusion_result* result) {
  const char* fn = "genrt_diffuse";
  if (genrt_status s = diffusion_models.check(model, fn); s != GENRT_OK) return s;
  if (options == nullptr || options->struct_size < sizeof(genrt_diffusion_options)) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT,
                "genrt_diffuse: options is NULL or its struct_size is too small: call genrt_diffusion_options_init first");
  }
  if (options->class_labels == nullptr || options->n_images == 0) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_diffuse: no class labels (class_labels NULL or n_images 0)");
  }
  if (result != nullptr && result->struct_size < sizeof(genrt_diffusion_result)) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_diffuse: result.struct_size is too small");
  }
  return guarded([&] {
    const size_t needed = latent_count(model, options->n_images);
    if (latents == nullptr || capacity < needed) {
      return fail(GENRT_ERROR_BUFFER_TOO_SMALL, "genrt_diffuse: latents buffer holds " + std::to_string(capacity) +
                                                     " floats, " + std::to_string(needed) + " needed");
    }
    genrt::api::DiffusionOptions o;
    o.class_labels.assign(options->class_labels, options->class_labels + options->n_images);
    o.guidance = options->guidance;
    o.steps = options->steps;
    o.seed = options->seed;
    if (options->scheduler != nullptr) o.scheduler = options->scheduler;
    if (options->init_noise != nullptr) o.init_noise.assign(options->init_noise, options->init_noise + needed);
    const genrt::api::DiffusionResult r = model->model.generate(o, [&](const genrt::api::DiffusionProgress& p) {
      return callback == nullptr || callback(user_data, p.step, p.steps, p.timestep, p.step_seconds) == 0;
    });
    std::copy(r.latents.begin(), r.latents.end(), latents);
    if (result != nullptr) {
      std::copy(r.shape.begin(), r.shape.end(), result->shape);
      result->steps_done = r.steps_done;
      result->cancelled = r.cancelled ? 1 : 0;
      result->seconds = r.seconds;
    }
    return GENRT_OK;
  });
}

void genrt_txt2img_options_init(genrt_txt2img_options* o) {
  if (o == nullptr) return;
  *o = {sizeof(genrt_txt2img_options), nullptr, nullptr, 30, 7.5f, 0, 0, 0, 1, 0, nullptr, nullptr, 0, nullptr, 0, 0,
        0.75f};
}

genrt_status genrt_txt2img_image_bytes(const genrt_diffusion_model* model, const genrt_txt2img_options* options,
                                       size_t* bytes) {
  const char* fn = "genrt_txt2img_image_bytes";
  if (genrt_status s = diffusion_models.check(model, fn); s != GENRT_OK) return s;
  if (bytes == nullptr) return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_txt2img_image_bytes: bytes is NULL");
  return guarded([&] {
    genrt::api::TextToImageOptions o;
    if (genrt_status s = read_txt2img_options(options, fn, o); s != GENRT_OK) return s;
    if (model->model.info().image_size == 0) {
      return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_txt2img_image_bytes: the model is not a text-to-image pipeline");
    }
    *bytes = image_bytes(model, o);
    return GENRT_OK;
  });
}

genrt_status genrt_txt2img(const genrt_diffusion_model* model, const genrt_txt2img_options* options,
                           genrt_diffusion_callback callback, void* user_data, uint8_t* rgb, size_t capacity,
                           genrt_image_result* result) {
  const char* fn = "genrt_txt2img";
  if (genrt_status s = diffusion_models.check(model, fn); s != GENRT_OK) return s;
  if (result != nullptr && result->struct_size < sizeof(genrt_image_result)) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_txt2img: result.struct_size is too small");
  }
  return guarded([&] {
    genrt::api::TextToImageOptions o;
    if (genrt_status s = read_txt2img_options(options, fn, o); s != GENRT_OK) return s;
    const size_t needed = image_bytes(model, o);
    if (rgb == nullptr || capacity < needed) {
      return fail(GENRT_ERROR_BUFFER_TOO_SMALL, "genrt_txt2img: rgb buffer holds " + std::to_string(capacity) +
                                                     " bytes, " + std::to_string(needed) + " needed");
    }
    const genrt::api::ImageResult r = model->model.txt2img(o, [&](const genrt::api::DiffusionProgress& p) {
      return callback == nullptr || callback(user_data, p.step, p.steps, p.timestep, p.step_seconds) == 0;
    });
    std::copy(r.rgb.begin(), r.rgb.end(), rgb);
    if (result != nullptr) {
      result->n_images = r.images;
      result->width = r.width;
      result->height = r.height;
      result->steps_done = r.steps_done;
      result->cancelled = r.cancelled ? 1 : 0;
      result->seconds = r.seconds;
    }
    return GENRT_OK;
  });
}

}  // extern "C"
