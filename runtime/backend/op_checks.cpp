#include "runtime/backend/op_checks.h"

namespace genrt::ops {

Placement placement_of(const Tensor& t, const char* op, const char* name) {
  GENRT_CHECK(t.defined(), "{}: {} is undefined", op, name);
  GENRT_CHECK(t.is_contiguous(), "{}: {} must be contiguous", op, name);
  if (t.device() == Device::cpu) {
    GENRT_CHECK(t.dtype() == DType::f32, "{}: {} is {}, expected f32 (the CPU reference computes in fp32)", op,
                name, dtype_name(t.dtype()));
  } else {
#ifndef GENRT_HAVE_CUDA
    fail("{}: {} is on cuda, but this build of genrt has no CUDA backend", op, name);
#endif
    GENRT_CHECK(t.dtype() != DType::i32, "{}: {} is i32, expected a floating-point tensor", op, name);
  }
  return {t.device(), t.dtype()};
}

void expect_on(const Tensor& t, const Placement& where, const char* op, const char* name) {
  GENRT_CHECK(t.defined(), "{}: {} is undefined", op, name);
  GENRT_CHECK(t.device() == where.device && t.dtype() == where.dtype, "{}: {} is {} on {}, expected {} on {}", op,
              name, dtype_name(t.dtype()), device_name(t.device()), dtype_name(where.dtype),
              device_name(where.device));
  GENRT_CHECK(t.is_contiguous(), "{}: {} must be contiguous", op, name);
}

void expect_cpu(const Tensor& t, const char* op, const char* name, DType dtype) {
  expect_on(t, {Device::cpu, dtype}, op, name);
}

void expect_shape(const Tensor& t, const Shape& shape, const char* op, const char* name) {
  GENRT_CHECK(t.shape() == shape, "{}: {} has shape {}, expected {}", op, name, shape_string(t.shape()),
              shape_string(shape));
}

void expect_optional_vector(const Tensor& t, int64_t dim, const Placement& where, const char* op, const char* name) {
  if (!t.defined()) return;
  expect_on(t, where, op, name);
  expect_shape(t, {dim}, op, name);
}

}  // namespace genrt::ops
