#include "runtime/api/c_api_support.h"

namespace genrt::c_api {

namespace {
thread_local std::string error_message;
}  // namespace

genrt_status fail(genrt_status status, std::string message) {
  error_message = std::move(message);
  return status;
}

void clear_error() { error_message.clear(); }
const char* last_error() { return error_message.c_str(); }

genrt_status status_of(const api::Error& e) {
  using Kind = api::Error::Kind;
  switch (e.kind()) {
    case Kind::invalid_argument: return GENRT_ERROR_INVALID_ARGUMENT;
    case Kind::model: return GENRT_ERROR_MODEL;
    case Kind::out_of_memory: return GENRT_ERROR_OUT_OF_MEMORY;
    case Kind::unsupported: return GENRT_ERROR_UNSUPPORTED;
    case Kind::internal: return GENRT_ERROR_INTERNAL;
  }
  return GENRT_ERROR_INTERNAL;
}

genrt_status read_load_options(const genrt_load_options* options, const char* function, api::LoadOptions& load) {
  if (options == nullptr) return GENRT_OK;
  if (options->struct_size < sizeof(genrt_load_options)) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, "genrt_load_options.struct_size is too small: call genrt_load_options_init first");
  }
  if (options->device != GENRT_DEVICE_CPU && options->device != GENRT_DEVICE_CUDA) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": unknown device " + std::to_string(options->device));
  }
  if (options->dtype != GENRT_DTYPE_F32 && options->dtype != GENRT_DTYPE_BF16 && options->dtype != GENRT_DTYPE_F16) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": unknown dtype " + std::to_string(options->dtype));
  }
  load.device = options->device == GENRT_DEVICE_CUDA ? api::Device::cuda : api::Device::cpu;
  load.dtype = static_cast<api::DType>(options->dtype);
  load.gpu_memory = options->gpu_memory_fraction;
  if (options->tokenizer != nullptr) load.tokenizer = options->tokenizer;
  return GENRT_OK;
}

genrt_status write_memory_usage(const api::MemoryUsage& m, genrt_memory_usage* usage, const char* function) {
  if (usage == nullptr || usage->struct_size < sizeof(genrt_memory_usage)) {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": usage is NULL or its struct_size is too small");
  }
  usage->weights_bytes = m.weights_bytes;
  usage->kv_cache_bytes_per_token = m.kv_cache_bytes_per_token;
  return GENRT_OK;
}

}  // namespace genrt::c_api
