#pragma once
// Argument checks shared by the op entries (runtime/backend only).

#include "runtime/core/tensor.h"

namespace genrt::ops {

// Checks that the CPU reference can run on t: contiguous fp32 (or `dtype`) host memory.
void expect_cpu(const Tensor& t, const char* op, const char* name, DType dtype = DType::f32);

void expect_shape(const Tensor& t, const Shape& shape, const char* op, const char* name);

}  // namespace genrt::ops
