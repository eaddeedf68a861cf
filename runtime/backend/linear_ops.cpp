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

}  // namespace genrt::ops
