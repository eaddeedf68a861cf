#pragma once
// The one mapping from a runtime dtype to the storage type the CUDA kernels are
// instantiated for (float, __half, __nv_bfloat16).

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "runtime/core/dtype.h"
#include "runtime/core/error.h"

namespace genrt {

// Calls f.template operator()<T>() with T the storage type of `dtype`.
template <class F>
void with_storage_type(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32: f.template operator()<float>(); return;
    case DType::f16: f.template operator()<__half>(); return;
    case DType::bf16: f.template operator()<__nv_bfloat16>(); return;
    default: fail("CUDA kernels: {} is not an activation dtype", dtype_name(dtype));
  }
}

}  // namespace genrt
