#include "runtime/backend/op_checks.h"

namespace genrt::ops {

void expect_cpu(const Tensor& t, const char* op, const char* name, DType dtype) {
  GENRT_CHECK(t.defined(), "{}: {} is undefined", op, name);
  GENRT_CHECK(t.device() == Device::cpu,
              "{}: {} is on {}, but the CUDA backend is not built into this version yet", op,
              name, device_name(t.device()));
  GENRT_CHECK(t.dtype() == dtype, "{}: {} is {}, expected {}", op, name, dtype_name(t.dtype()),
              dtype_name(dtype));
  GENRT_CHECK(t.is_contiguous(), "{}: {} must be contiguous", op, name);
}

void expect_shape(const Tensor& t, const Shape& shape, const char* op, const char* name) {
  GENRT_CHECK(t.shape() == shape, "{}: {} has shape {}, expected {}", op, name,
              shape_string(t.shape()), shape_string(shape));
}

}  // namespace genrt::ops
