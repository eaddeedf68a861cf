#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

// The elementwise activations, one op for all: the CPU reference below and the CUDA kernel
// (kernels/activations.cuh) take the same arguments and evaluate activation_value for every
// element. The gated units fuse the gate's activation with the product by the other half of
// one fused projection's output (SwiGLU: gate | up; GEGLU, as diffusers orders it: value |
// gate); the plain sum rides along, being the same one pass over two inputs.
enum class Activation : uint8_t {
  swiglu,     // out[r, c] = silu(x[r, c]) * x[r, cols + c]: x is [rows, 2 cols] gate | up
  silu,       // out = x * sigmoid(x) = x / (1 + exp(-x))
  gelu_erf,   // exact: 0.5 x (1 + erf(x / sqrt 2))                (PyTorch approximate="none")
  gelu_tanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (GPT-2's gelu_new)
  gelu_quick, // x sigmoid(1.702 x)                                (CLIP's quick_gelu)
  add,        // out = x + up
  relu,       // out = max(x, 0); NaN stays NaN, as in PyTorch   (OPT)
  geglu,      // out[r, c] = x[r, c] * gelu_erf(x[r, cols + c]): x is [rows, 2 cols] value | gate
  gated_gelu, // out[r, c] = gelu_tanh(x[r, c]) * x[r, cols + c]: x is [rows, 2 cols] gate | value (T5 v1.1)
};

// Whether `op` reads the second operand `up`.
GENRT_HOST_DEVICE constexpr bool takes_up(Activation op) { return op == Activation::add; }
// Whether `op` reads both its operands from rows of x twice as wide as out's.
GENRT_HOST_DEVICE constexpr bool is_gated(Activation op) {
  return op == Activation::swiglu || op == Activation::geglu || op == Activation::gated_gelu;
}

// T is float for the CPU reference; float, __half or __nv_bfloat16 for the kernel.
template <class T>
struct ActivationArgs {
  Activation op = Activation::swiglu;
  const T* x = nullptr;   // [n]; for the gated ops [n / cols, 2 cols]
  const T* up = nullptr;  // [n] when takes_up(op), else nullptr
  T* out = nullptr;       // [n]; may alias x or up, except for the gated ops
  int64_t n = 0;
  int64_t cols = 0;       // gated ops: out's row width (x's rows are twice as wide); n is a multiple
};

// Where element i of out finds its operands: x[x] and up[up], or for the gated ops the two
// halves of x's row, x[x] and x[up].
struct OperandIndex {
  int64_t x = 0, up = 0;
};
GENRT_HOST_DEVICE inline OperandIndex operand_index(Activation op, int64_t cols, int64_t i) {
  if (!is_gated(op)) return {i, i};
  const int64_t gate = i / cols * 2 * cols + i % cols;
  return {gate, gate + cols};
}

GENRT_HOST_DEVICE inline float silu_value(float x) { return x / (1.0f + expf(-x)); }

GENRT_HOST_DEVICE inline float gelu_erf_value(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

GENRT_HOST_DEVICE inline float gelu_tanh_value(float x) {
  return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}

GENRT_HOST_DEVICE inline float gelu_quick_value(float x) { return x / (1.0f + expf(-1.702f * x)); }

// One element in fp32; unary ops ignore `up`.
GENRT_HOST_DEVICE inline float activation_value(Activation op, float x, float up) {
  switch (op) {
    case Activation::swiglu: return silu_value(x) * up;
    case Activation::silu: return silu_value(x);
    case Activation::gelu_erf: return gelu_erf_value(x);
    case Activation::gelu_tanh: return gelu_tanh_value(x);
    case Activation::gelu_quick: return gelu_quick_value(x);
    case Activation::add: return x + up;
    case Activation::relu: return x < 0.0f ? 0.0f : x;  // a comparison, not fmaxf, to keep NaN
    case Activation::geglu: return x * gelu_erf_value(up);
    case Activation::gated_gelu: return gelu_tanh_value(x) * up;
  }
  return x;
}

void activation(const ActivationArgs<float>& args);

}  // namespace genrt::ref
