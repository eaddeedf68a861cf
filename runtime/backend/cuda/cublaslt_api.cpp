#include "runtime/backend/cuda/cublaslt_api.h"

#include <string>

#include "runtime/core/shared_library.h"

namespace genrt {

const CublasLtApi& cublaslt() {
  static const CublasLtApi api = [] {
    static const SharedLibrary library("libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR), GENRT_CUDA_LIBRARY_DIR);
    CublasLtApi loaded;
#define GENRT_CUBLASLT_LOAD(function) \
  loaded.function = reinterpret_cast<decltype(&::function)>(library.symbol(#function));
    GENRT_CUBLASLT_FUNCTIONS(GENRT_CUBLASLT_LOAD)
#undef GENRT_CUBLASLT_LOAD
    return loaded;
  }();
  return api;
}

}  // namespace genrt
