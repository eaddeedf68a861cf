#pragma once
// Argument checks shared by the op entries (runtime/backend only).

#include "runtime/core/tensor.h"

namespace genrt::ops {

// Where an op runs: the device and dtype of its main tensor. The CPU reference computes in
// f32; the CUDA kernels take f32, f16 or bf16 (in a build with the CUDA backend).
struct Placement {
  Device device = Device::cpu;
  DType dtype = DType::f32;
};

// The placement of an op whose main tensor is t (defined, contiguous, a supported dtype).
Placement placement_of(const Tensor& t, const char* op, const char* name);

// t must be defined, contiguous, and on the op's device in its dtype.
void expect_on(const Tensor& t, const Placement& where, const char* op, const char* name);

// Contiguous host memory of `dtype` (metadata, CPU-only ops).
void expect_cpu(const Tensor& t, const char* op, const char* name, DType dtype = DType::f32);

void expect_shape(const Tensor& t, const Shape& shape, const char* op, const char* name);

// An optional [dim] parameter (a norm's weight or bias, a linear bias): unless undefined, on
// the op's device with that shape.
void expect_optional_vector(const Tensor& t, int64_t dim, const Placement& where, const char* op, const char* name);

}  // namespace genrt::ops
