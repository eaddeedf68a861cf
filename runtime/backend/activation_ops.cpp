#include "runtime/backend/activation_ops.h"

#include <cstdint>

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
  GENRT_ON_CUDA_OP(op_name, where, cuda_ops::activation(op, x, up, out));
  ref::activation(activation_args<float>(op, x, up, out));
}

// out [rows, cols] = op over the halves of x [rows, 2 cols], which out must not overlap.
void gated(const char* op_name, ref::Activation op, const Tensor& x, const char* x_name, Tensor& out) {
  const Placement where = placement_of(x, op_name, x_name);
  GENRT_CHECK(x.rank() == 2 && x.dim(1) % 2 == 0, "{}: {} must be [rows, 2 * cols], got {}", op_name, x_name,
              shape_string(x.shape()));
  expect_on(out, where, op_name, "out");
  expect_shape(out, {x.dim(0), x.dim(1) / 2}, op_name, "out");
  const auto in_begin = reinterpret_cast<uintptr_t>(x.raw()), out_begin = reinterpret_cast<uintptr_t>(out.raw());
  GENRT_CHECK(out_begin + out.nbytes() <= in_begin || in_begin + x.nbytes() <= out_begin,
              "{}: out must not overlap {}", op_name, x_name);
  GENRT_ON_CUDA_OP(op_name, where, cuda_ops::activation(op, x, Tensor(), out));
  ref::activation(activation_args<float>(op, x, Tensor(), out));
}

}  // namespace

void swiglu(const Tensor& gate_up, Tensor& out) { gated("swiglu", ref::Activation::swiglu, gate_up, "gate_up", out); }

void geglu(const Tensor& x, Tensor& out) { gated("geglu", ref::Activation::geglu, x, "x", out); }

void gated_gelu(const Tensor& x, Tensor& out) { gated("gated_gelu", ref::Activation::gated_gelu, x, "x", out); }

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
