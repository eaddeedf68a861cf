// The C API's diffusion entries (include/genrt/genrt.h): exception-free, over the C++
// DiffusionModel.

#include <algorithm>
#include <cmath>
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

}  // extern "C"
