#pragma once
// Checked tensors as the argument structs that a CPU reference and its CUDA kernel share
// (kernels/ref/norm.h, activations.h): the op entry builds them with T = float for the
// reference, the CUDA side (runtime/backend/cuda) with its storage type, through the same
// functions.

#include <cstdint>

#include "kernels/ref/activations.h"
#include "kernels/ref/norm.h"
#include "runtime/core/tensor.h"

namespace genrt::ops {

// The data of t as T, or nullptr when t is undefined (an absent operand).
template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw()) : nullptr;
}

// x, up and out as the op reads them: for swiglu x is [rows, 2 cols] and out [rows, cols].
template <class T>
ref::ActivationArgs<T> activation_args(ref::Activation op, const Tensor& x, const Tensor& up, const Tensor& out) {
  return {.op = op,
          .x = data_or_null<T>(x),
          .up = data_or_null<T>(up),
          .out = data_or_null<T>(out),
          .n = out.numel(),
          .cols = op == ref::Activation::swiglu ? out.dim(-1) : 0};
}

// The tensors of ref::NormArgs; nullptr or an undefined tensor is an absent operand.
struct NormOperands {
  ref::NormKind kind = ref::NormKind::rms;
  const Tensor* x = nullptr;
  const Tensor* gate = nullptr;
  const Tensor* residual = nullptr;  // [rows, dim], required
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;
  const Tensor* shift = nullptr;
  const Tensor* scale = nullptr;
  const Tensor* out = nullptr;  // required
  int64_t rows_per_group = 1;
  float eps = 1e-5f;
};

template <class T>
ref::NormArgs<T> norm_args(const NormOperands& o) {
  const auto data = [](const Tensor* t) { return t != nullptr ? data_or_null<T>(*t) : nullptr; };
  return {.kind = o.kind,
          .x = data(o.x),
          .gate = data(o.gate),
          .residual = data(o.residual),
          .weight = data(o.weight),
          .bias = data(o.bias),
          .shift = data(o.shift),
          .scale = data(o.scale),
          .out = data(o.out),
          .rows = o.residual->dim(0),
          .dim = o.residual->dim(1),
          .rows_per_group = o.rows_per_group,
          .eps = o.eps};
}

}  // namespace genrt::ops
