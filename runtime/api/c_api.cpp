// The C API (include/genrt/genrt.h): a thin, exception-free layer over the C++ API.

#include <cstddef>
#include <cstring>
#include <new>
#include <string>

#include "genrt/genrt.h"
#include "genrt/genrt.hpp"
#include "runtime/api/c_api_support.h"

struct genrt_model {
  genrt::api::Model model;
};

namespace {

using namespace genrt::c_api;

LiveHandles<genrt_model> models("genrt_model");

genrt_status check_model(const genrt_model* model, const char* function) { return models.check(model, function); }

genrt_status read_sampling(const genrt_sampling* s, genrt::api::SamplingOptions& out) {
  if (s == nullptr) return GENRT_OK;
  if (s->struct_size < offsetof(genrt_sampling, grammar)) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_sampling.struct_size is too small: call genrt_sampling_init first");
  }
  out = {.max_tokens = s->max_tokens,
         .temperature = s->temperature,
         .top_k = s->top_k,
         .top_p = s->top_p,
         .min_p = s->min_p,
         .repetition_penalty = s->repetition_penalty,
         .seed = s->seed,
         .ignore_eos = s->ignore_eos != 0,
         .grammar = {},
         .json_schema = {}};
  if (s->struct_size >= sizeof(genrt_sampling)) {
    if (s->grammar != nullptr) out.grammar = s->grammar;
    if (s->json_schema != nullptr) out.json_schema = s->json_schema;
  }
  return GENRT_OK;
}

genrt_status run_generation(const genrt_model* model, const char* function, const genrt_sampling* sampling,
                            genrt_token_callback callback, void* user_data, genrt_generation_result* result,
                            const auto& generate) {
  if (genrt_status s = check_model(model, function); s != GENRT_OK) return s;
  if (result != nullptr && result->struct_size < sizeof(genrt_generation_result)) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": result.struct_size is too small");
  }
  genrt::api::SamplingOptions options;
  if (genrt_status s = read_sampling(sampling, options); s != GENRT_OK) return s;
  return guarded([&] {
    const genrt::api::TokenCallback on_token = [&](int32_t token, std::string_view text) {
      return callback == nullptr || callback(user_data, token, text.data(), text.size()) == 0;
    };
    const genrt::api::GenerationResult r = generate(options, on_token);
    if (result != nullptr) {
      result->prompt_tokens = r.prompt_tokens;
      result->generated_tokens = static_cast<int64_t>(r.tokens.size());
      result->finish_reason = static_cast<int32_t>(r.finish_reason);
      result->ttft_ms = r.ttft_ms;
      result->tokens_per_s = r.tokens_per_s;
    }
    return GENRT_OK;
  });
}

}  // namespace

extern "C" {

const char* genrt_version(void) { return genrt::api::version(); }
const char* genrt_last_error(void) { return genrt::c_api::last_error(); }

void genrt_load_options_init(genrt_load_options* o) {
  if (o == nullptr) return;
  *o = {sizeof(genrt_load_options), GENRT_DEVICE_CPU, GENRT_DTYPE_F32, 0.9f, nullptr};
}

void genrt_sampling_init(genrt_sampling* s) {
  if (s == nullptr) return;
  *s = {sizeof(genrt_sampling), 256, 1.0f, 0, 1.0f, 0.0f, 1.0f, 0, 0, nullptr, nullptr};
}

genrt_status genrt_model_load(const char* path, const genrt_load_options* options, genrt_model** model) {
  return models.open("genrt_model_load", path, options, model, genrt::api::Model::load);
}

genrt_status genrt_model_free(genrt_model* model) { return models.close(model, "genrt_model_free"); }

genrt_status genrt_model_memory(const genrt_model* model, genrt_memory_usage* usage) {
  if (genrt_status s = check_model(model, "genrt_model_memory"); s != GENRT_OK) return s;
  return guarded([&] { return write_memory_usage(model->model.memory(), usage, "genrt_model_memory"); });
}

genrt_status genrt_tokenize(const genrt_model* model, const char* text, size_t text_len, int add_special, int32_t* ids,
                            size_t capacity, size_t* count) {
  if (genrt_status s = check_model(model, "genrt_tokenize"); s != GENRT_OK) return s;
  if (count == nullptr || (text == nullptr && text_len > 0) || (ids == nullptr && capacity > 0)) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_tokenize: count is NULL, or a NULL buffer with a nonzero size");
  }
  return guarded([&] {
    const std::vector<int32_t> tokens = model->model.tokenize(std::string_view(text ? text : "", text_len), add_special != 0);
    *count = tokens.size();
    if (tokens.size() > capacity) return fail(GENRT_ERROR_BUFFER_TOO_SMALL, "genrt_tokenize: ids buffer too small");
    std::copy(tokens.begin(), tokens.end(), ids);
    return GENRT_OK;
  });
}

genrt_status genrt_detokenize(const genrt_model* model, const int32_t* ids, size_t n_ids, char* text, size_t capacity,
                              size_t* length) {
  if (genrt_status s = check_model(model, "genrt_detokenize"); s != GENRT_OK) return s;
  if (length == nullptr || (ids == nullptr && n_ids > 0) || (text == nullptr && capacity > 0)) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_detokenize: length is NULL, or a NULL buffer with a nonzero size");
  }
  return guarded([&] {
    const std::string out = model->model.detokenize(std::span<const int32_t>(ids, n_ids));
    *length = out.size();
    if (out.size() >= capacity) return fail(GENRT_ERROR_BUFFER_TOO_SMALL, "genrt_detokenize: text buffer too small");
    std::memcpy(text, out.data(), out.size());
    text[out.size()] = '\0';
    return GENRT_OK;
  });
}

genrt_status genrt_generate(const genrt_model* model, const char* prompt, const genrt_sampling* sampling,
                            genrt_token_callback callback, void* user_data, genrt_generation_result* result) {
  if (prompt == nullptr) return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_generate: prompt is NULL");
  return run_generation(model, "genrt_generate", sampling, callback, user_data, result, [&](const auto& options, const auto& cb) {
    return model->model.generate(std::string_view(prompt), options, cb);
  });
}

genrt_status genrt_generate_ids(const genrt_model* model, const int32_t* ids, size_t n_ids, const genrt_sampling* sampling,
                                genrt_token_callback callback, void* user_data, genrt_generation_result* result) {
  if (ids == nullptr && n_ids > 0) return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_generate_ids: ids is NULL");
  return run_generation(model, "genrt_generate_ids", sampling, callback, user_data, result, [&](const auto& options, const auto& cb) {
    return model->model.generate(std::span<const int32_t>(ids, n_ids), options, cb);
  });
}

}  // extern "C"
