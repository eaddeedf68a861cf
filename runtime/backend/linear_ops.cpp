#include "runtime/backend/linear_ops.h"

#include "kernels/ref/matmul.h"
#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/kernel_args.h"
#include "runtime/backend/op_checks.h"

namespace genrt::ops {

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  const Placement where = placement_of(x, "linear", "x");
  expect_on(weight, where, "linear", "weight");
  GENRT_CHECK(x.rank() == 2 && weight.rank() == 2, "linear: x {} and weight {} must both be 2-D",
              shape_string(x.shape()), shape_string(weight.shape()));
  const int64_t m = x.dim(0), k = x.dim(1), n = weight.dim(0);
  GENRT_CHECK(weight.dim(1) == k, "linear: x {} does not match weight {} (in_features)", shape_string(x.shape()),
              shape_string(weight.shape()));
  // On the GPU the output may be fp32 (logits) for 16-bit operands.
  const bool f32_out = where.device == Device::cuda && out.defined() && out.dtype() == DType::f32;
  expect_on(out, f32_out ? Placement{Device::cuda, DType::f32} : where, "linear", "out");
  expect_shape(out, {m, n}, "linear", "out");
  expect_optional_vector(bias, n, where, "linear", "bias");
  GENRT_ON_CUDA(where, cuda_ops::linear(x, weight, bias, out));
  ref::matmul(x.data<float>(), weight.data<float>(), data_or_null<float>(bias), out.data<float>(), m, n, k);
}

void linear_parts(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  const Placement where = placement_of(x, "linear_parts", "x");
  expect_on(weight, where, "linear_parts", "weight");
  expect_on(out, where, "linear_parts", "out");
  GENRT_CHECK(x.rank() == 2 && weight.rank() == 2 && out.rank() == 3,
              "linear_parts: x {}, weight {} and out {} must be 2-D, 2-D and 3-D", shape_string(x.shape()),
              shape_string(weight.shape()), shape_string(out.shape()));
  const int64_t parts = out.dim(0), m = x.dim(0), k = x.dim(1), n = out.dim(2);
  GENRT_CHECK(parts > 0 && weight.dim(0) == parts * n && weight.dim(1) == k,
              "linear_parts: weight {} is not {} parts of {} rows over x {}", shape_string(weight.shape()), parts, n,
              shape_string(x.shape()));
  expect_shape(out, {parts, m, n}, "linear_parts", "out");
  expect_optional_vector(bias, parts * n, where, "linear_parts", "bias");
  GENRT_ON_CUDA(where, cuda_ops::linear_parts(x, weight, bias, out));
  for (int64_t p = 0; p < parts; ++p) {
    ref::matmul(x.data<float>(), weight.data<float>() + p * n * k,
                bias.defined() ? bias.data<float>() + p * n : nullptr, out.data<float>() + p * m * n, m, n, k);
  }
}

}  // namespace genrt::ops
