#include "kernels/activations.cuh"

#include "kernels/type_convert.cuh"

namespace genrt::kernels {

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float apply(Activation op, float x, float up) {
  switch (op) {
    case Activation::swiglu: return x / (1.0f + __expf(-x)) * up;
    case Activation::silu: return x / (1.0f + __expf(-x));
    case Activation::gelu_erf: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case Activation::gelu_tanh: return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
  }
  return x;
}

// Grid-stride over the elements; memory-bound, so the launcher sizes the grid to fill the
// device a few times over rather than one thread per element.
template <class T>
__global__ void __launch_bounds__(kThreads) activation_kernel(ActivationLaunch<T> a) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < a.n;
       i += static_cast<int64_t>(gridDim.x) * kThreads) {
    const float up = a.up != nullptr ? to_float(a.up[i]) : 1.0f;
    a.out[i] = from_float<T>(apply(a.op, to_float(a.x[i]), up));
  }
}

}  // namespace

template <class T>
cudaError_t launch_activation(const ActivationLaunch<T>& a, cudaStream_t stream) {
  if (a.n == 0) return cudaSuccess;
  if (a.n < 0 || a.x == nullptr || a.out == nullptr || (a.op == Activation::swiglu) != (a.up != nullptr)) {
    return cudaErrorInvalidValue;
  }
  const int64_t blocks = std::min<int64_t>((a.n + kThreads - 1) / kThreads, 65536);
  activation_kernel<T><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

template cudaError_t launch_activation<float>(const ActivationLaunch<float>&, cudaStream_t);
template cudaError_t launch_activation<__half>(const ActivationLaunch<__half>&, cudaStream_t);
template cudaError_t launch_activation<__nv_bfloat16>(const ActivationLaunch<__nv_bfloat16>&, cudaStream_t);

}  // namespace genrt::kernels
