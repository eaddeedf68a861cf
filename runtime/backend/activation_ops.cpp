#include "runtime/backend/activation_ops.h"

#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/kernel_args.h"
#include "runtime/backend/op_checks.h"

namespace genrt::ops {

namespace {

// Checks x, up (when op takes it) and out, then runs op on either backend.
void elementwise(const char* op_name, ref::Activation op, const Tensor& x, const char* x_name, const Tensor& up,
                 const char* up_name, Tensor& out) {
  const Placement where = placement_of(x, op_name, x_name);
  if (ref::takes_up(op)) {
    expect_on(up, where, op_name, up_name);
    expect_shape(up, x.shape(), op_name, up_name);
  }
  expect_on(out, where, op_name, "out");
  expect_shape(out, x.shape(), op_name, "out");
  GENRT_ON_CUDA(where, cuda_ops::activation(op, x, up, out));
  ref::activation(activation_args<float>(op, x, up, out));
}

}  // namespace

void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) {
  elementwise("swiglu", ref::Activation::swiglu, gate, "gate", up, "up", out);
}

void gelu(const Tensor& x, Tensor& out, ref::Activation gelu) {
  GENRT_CHECK(gelu == ref::Activation::gelu_erf || gelu == ref::Activation::gelu_tanh ||
                  gelu == ref::Activation::gelu_quick,
              "gelu: activation {} is not a GELU", static_cast<int>(gelu));
  elementwise("gelu", gelu, x, "x", Tensor(), "", out);
}

void silu(const Tensor& x, Tensor& out) { elementwise("silu", ref::Activation::silu, x, "x", Tensor(), "", out); }

void relu(const Tensor& x, Tensor& out) { elementwise("relu", ref::Activation::relu, x, "x", Tensor(), "", out); }

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  elementwise("add", ref::Activation::add, a, "a", b, "b", out);
}

}  // namespace genrt::ops
