#pragma once
// Checked tensors as the argument structs that a CPU reference and its CUDA kernel share
// (kernels/ref/norm.h, activations.h): the op entry builds them with T = float for the
// reference, the CUDA side (runtime/backend/cuda) with its storage type, through the same
// functions.

#include <cstdint>

#include "kernels/ref/activations.h"
#include "kernels/ref/group_norm.h"
#include "kernels/ref/norm.h"
#include "runtime/backend/image_ops.h"
#include "runtime/core/tensor.h"

namespace genrt::ops {

// The data of t as T, or nullptr when t is undefined (an absent operand).
template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw()) : nullptr;
}

// x, up and out as the op reads them: for the gated ops x is [rows, 2 cols] and out [rows, cols].
template <class T>
ref::ActivationArgs<T> activation_args(ref::Activation op, const Tensor& x, const Tensor& up, const Tensor& out) {
  return {.op = op,
          .x = data_or_null<T>(x),
          .up = data_or_null<T>(up),
          .out = data_or_null<T>(out),
          .n = out.numel(),
          .cols = ref::is_gated(op) ? out.dim(-1) : 0};
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

// The tensors of ref::GroupNormArgs (x and out required; the others may be undefined) and
// the image's extent as the op entry read it.
struct GroupNormOperands {
  const Tensor* x = nullptr;
  const Tensor* channel_add = nullptr;
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;
  const Tensor* out = nullptr;
  int64_t batch = 0, pixels = 0, channels = 0;
  GroupNormParams params;
};

template <class T>
ref::GroupNormArgs<T> group_norm_args(const GroupNormOperands& o) {
  return {.x = data_or_null<T>(*o.x),
          .channel_add = data_or_null<T>(*o.channel_add),
          .weight = data_or_null<T>(*o.weight),
          .bias = data_or_null<T>(*o.bias),
          .out = data_or_null<T>(*o.out),
          .batch = o.batch,
          .pixels = o.pixels,
          .channels = o.channels,
          .groups = o.params.groups,
          .eps = o.params.eps,
          .silu = o.params.silu};
}

}  // namespace genrt::ops
