#include "kernels/activations.cuh"

#include "kernels/elementwise.cuh"
#include "kernels/type_convert.cuh"

namespace genrt::kernels {

namespace {

template <class T>
__global__ void __launch_bounds__(kElementwiseThreads) activation_kernel(ref::ActivationArgs<T> a) {
  const T* up = ref::is_gated(a.op) ? a.x : a.up;
  for_each_element(a.n, [&](int64_t i) {
    const ref::OperandIndex at = ref::operand_index(a.op, a.cols, i);
    const float second = up != nullptr ? to_float(up[at.up]) : 0.0f;
    a.out[i] = from_float<T>(ref::activation_value(a.op, to_float(a.x[at.x]), second));
  });
}

}  // namespace

template <class T>
cudaError_t launch_activation(const ref::ActivationArgs<T>& a, cudaStream_t stream) {
  if (a.n == 0) return cudaSuccess;
  if (a.n < 0 || a.x == nullptr || a.out == nullptr || ref::takes_up(a.op) != (a.up != nullptr) ||
      (ref::is_gated(a.op) && (a.cols <= 0 || a.n % a.cols != 0))) {
    return cudaErrorInvalidValue;
  }
  activation_kernel<T><<<elementwise_blocks(a.n), kElementwiseThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

template cudaError_t launch_activation<float>(const ref::ActivationArgs<float>&, cudaStream_t);
template cudaError_t launch_activation<__half>(const ref::ActivationArgs<__half>&, cudaStream_t);
template cudaError_t launch_activation<__nv_bfloat16>(const ref::ActivationArgs<__nv_bfloat16>&, cudaStream_t);

}  // namespace genrt::kernels
