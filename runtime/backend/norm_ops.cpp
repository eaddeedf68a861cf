#include "runtime/backend/norm_ops.h"

#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/kernel_args.h"
#include "runtime/backend/op_checks.h"

namespace genrt::ops {

namespace {

// The checked norm on either backend.
void run_norm(const char* op, const Placement& where,
              const NormOperands& operands) {
  GENRT_ON_CUDA_OP(op, where, cuda_ops::norm(op, operands));
  ref::norm(norm_args<float>(operands));
}

// RMSNorm / LayerNorm with an optional residual add.
void row_norm(const char* op, ref::NormKind kind, const Tensor& x, Tensor* residual, const Tensor& weight,
              const Tensor& bias, float eps, Tensor& out) {
  const Placement where = placement_of(x, op, "x");
  GENRT_CHECK(x.rank() == 2, "{}: x must be [rows, dim], got {}", op, shape_string(x.shape()));
  expect_on(out, where, op, "out");
  expect_shape(out, x.shape(), op, "out");
  expect_optional_vector(weight, x.dim(1), where, op, "weight");
  expect_optional_vector(bias, x.dim(1), where, op, "bias");
  if (residual != nullptr) {
    expect_on(*residual, where, op, "residual");
    expect_shape(*residual, x.shape(), op, "residual");
    GENRT_CHECK(out.raw() != residual->raw(), "{}: out must not alias residual", op);
  }
  run_norm(op, where,
           {.kind = kind,
            .x = residual != nullptr ? &x : nullptr,
            .residual = residual != nullptr ? residual : &x,
            .weight = &weight,
            .bias = &bias,
            .out = &out,
            .eps = eps});
}

}  // namespace

void rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  row_norm("rmsnorm", ref::NormKind::rms, x, nullptr, weight, Tensor(), eps, out);
}

void add_rmsnorm(const Tensor& x, Tensor& residual, const Tensor& weight, float eps, Tensor& out) {
  row_norm("add_rmsnorm", ref::NormKind::rms, x, &residual, weight, Tensor(), eps, out);
}

void layernorm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out) {
  row_norm("layernorm", ref::NormKind::layer, x, nullptr, weight, bias, eps, out);
}

void add_layernorm(const Tensor& x, Tensor& residual, const Tensor& weight, const Tensor& bias, float eps,
                   Tensor& out) {
  row_norm("add_layernorm", ref::NormKind::layer, x, &residual, weight, bias, eps, out);
}

void modulated_layernorm(const Tensor& x, const Tensor& gate, Tensor& residual, const Tensor& shift,
                         const Tensor& scale, float eps, Tensor& out) {
  const char* op = "modulated_layernorm";
  const Placement where = placement_of(residual, op, "residual");
  GENRT_CHECK(residual.rank() == 2, "{}: residual must be [rows, dim], got {}", op, shape_string(residual.shape()));
  expect_on(shift, where, op, "shift");
  GENRT_CHECK(shift.rank() == 2 && shift.dim(0) > 0 && residual.dim(0) % shift.dim(0) == 0,
              "{}: shift {} must be [groups, dim] with groups dividing the {} rows", op, shape_string(shift.shape()),
              residual.dim(0));
  const int64_t rows = residual.dim(0), dim = residual.dim(1), groups = shift.dim(0);
  expect_shape(shift, {groups, dim}, op, "shift");
  expect_on(scale, where, op, "scale");
  expect_shape(scale, {groups, dim}, op, "scale");
  expect_on(out, where, op, "out");
  expect_shape(out, residual.shape(), op, "out");
  GENRT_CHECK(out.raw() != residual.raw(), "{}: out must not alias residual", op);
  if (x.defined()) {
    expect_on(x, where, op, "x");
    expect_shape(x, residual.shape(), op, "x");
  }
  if (gate.defined()) {
    GENRT_CHECK(x.defined(), "{}: a gate without x", op);
    expect_on(gate, where, op, "gate");
    expect_shape(gate, {groups, dim}, op, "gate");
  }
  run_norm(op, where,
           {.kind = ref::NormKind::layer,
            .x = &x,
            .gate = &gate,
            .residual = &residual,
            .shift = &shift,
            .scale = &scale,
            .out = &out,
            .rows_per_group = rows / groups,
            .eps = eps});
}

}  // namespace genrt::ops
