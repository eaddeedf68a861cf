#include "kernels/activations.cuh"

#include "kernels/elementwise.cuh"
#include "kernels/type_convert.cuh"

namespace genrt::kernels {

namespace {

__device__ __forceinline__ float apply(Activation op, float x, float up) {
  switch (op) {
    case Activation::swiglu: return x / (1.0f + __expf(-x)) * up;
    case Activation::silu: return x / (1.0f + __expf(-x));
    case Activation::gelu_erf: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case Activation::gelu_tanh: return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case Activation::add: return x + up;
  }
  return x;
}

template <class T>
__global__ void __launch_bounds__(kElementwiseThreads) activation_kernel(ActivationLaunch<T> a) {
  for_each_element(a.n, [&](int64_t i) {
    const float up = a.up != nullptr ? to_float(a.up[i]) : 1.0f;
    a.out[i] = from_float<T>(apply(a.op, to_float(a.x[i]), up));
  });
}

}  // namespace

template <class T>
cudaError_t launch_activation(const ActivationLaunch<T>& a, cudaStream_t stream) {
  if (a.n == 0) return cudaSuccess;
  const bool binary = a.op == Activation::swiglu || a.op == Activation::add;
  if (a.n < 0 || a.x == nullptr || a.out == nullptr || binary != (a.up != nullptr)) return cudaErrorInvalidValue;
  activation_kernel<T><<<elementwise_blocks(a.n), kElementwiseThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

template cudaError_t launch_activation<float>(const ActivationLaunch<float>&, cudaStream_t);
template cudaError_t launch_activation<__half>(const ActivationLaunch<__half>&, cudaStream_t);
template cudaError_t launch_activation<__nv_bfloat16>(const ActivationLaunch<__nv_bfloat16>&, cudaStream_t);

}  // namespace genrt::kernels
