#pragma once
// Elementwise activations on the GPU (see kernels/ref/swiglu.h, gelu.h, silu.h, add.h), fp32
// math on T storage; SwiGLU fuses the gate's SiLU with the product with the up projection.
// The plain sum rides along: it is the same one pass over two inputs.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::kernels {

enum class Activation : uint8_t {
  swiglu,     // out = silu(x) * up
  silu,       // out = x * sigmoid(x)
  gelu_erf,   // exact GELU
  gelu_tanh,  // GPT-2's tanh approximation
  add,        // out = x + up
};

template <class T>
struct ActivationLaunch {
  Activation op = Activation::swiglu;
  const T* x = nullptr;   // [n] (the gate for swiglu)
  const T* up = nullptr;  // [n], swiglu and add only
  T* out = nullptr;       // [n]; may alias x or up
  int64_t n = 0;
};

template <class T>
cudaError_t launch_activation(const ActivationLaunch<T>& args, cudaStream_t stream);

}  // namespace genrt::kernels
