// The C API's embedding entries (include/genrt/genrt.h): exception-free, over the C++
// EmbeddingModel.

#include <algorithm>
#include <string>
#include <vector>

#include "genrt/embedding.hpp"
#include "genrt/genrt.h"
#include "runtime/api/c_api_support.h"

struct genrt_embedding_model {
  genrt::api::EmbeddingModel model;
};

namespace {

using namespace genrt::c_api;

LiveHandles<genrt_embedding_model> embedding_models("genrt_embedding_model");

}  // namespace

extern "C" {

genrt_status genrt_embedding_model_load(const char* path, const genrt_load_options* options,
                                        genrt_embedding_model** model) {
  return embedding_models.open("genrt_embedding_model_load", path, options, model,
                               genrt::api::EmbeddingModel::load);
}

genrt_status genrt_embedding_model_free(genrt_embedding_model* model) {
  return embedding_models.close(model, "genrt_embedding_model_free");
}

genrt_status genrt_embedding_dimensions(const genrt_embedding_model* model, size_t* dimensions) {
  if (genrt_status s = embedding_models.check(model, "genrt_embedding_dimensions"); s != GENRT_OK) return s;
  if (dimensions == nullptr) return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_embedding_dimensions: dimensions is NULL");
  return guarded([&] {
    *dimensions = static_cast<size_t>(model->model.info().dimensions);
    return GENRT_OK;
  });
}

genrt_status genrt_embed(const genrt_embedding_model* model, const char* const* texts, const size_t* text_lens,
                         size_t n_texts, float* embeddings, size_t capacity) {
  const char* fn = "genrt_embed";
  if (genrt_status s = embedding_models.check(model, fn); s != GENRT_OK) return s;
  if (n_texts == 0) return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_embed: no texts (n_texts is 0)");
  if (texts == nullptr) return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_embed: texts is NULL");
  for (size_t i = 0; i < n_texts; ++i) {
    if (texts[i] == nullptr) {
      return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_embed: text " + std::to_string(i) + " is NULL");
    }
  }
  return guarded([&] {
    const auto dims = static_cast<size_t>(model->model.info().dimensions);
    if (embeddings == nullptr || capacity < n_texts * dims) {
      return fail(GENRT_ERROR_BUFFER_TOO_SMALL, "genrt_embed: embeddings buffer holds " + std::to_string(capacity) +
                                                     " floats, " + std::to_string(n_texts * dims) + " needed");
    }
    std::vector<std::string> batch;
    for (size_t i = 0; i < n_texts; ++i) {
      batch.emplace_back(texts[i], text_lens != nullptr ? text_lens[i] : std::char_traits<char>::length(texts[i]));
    }
    const std::vector<std::vector<float>> out = model->model.embed(batch);
    for (size_t i = 0; i < out.size(); ++i) std::copy(out[i].begin(), out[i].end(), embeddings + i * dims);
    return GENRT_OK;
  });
}

}  // extern "C"
