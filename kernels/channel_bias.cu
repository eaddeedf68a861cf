#include "kernels/channel_bias.cuh"

#include "kernels/elementwise.cuh"
#include "kernels/type_convert.cuh"

namespace genrt::kernels {

namespace {

template <class T>
__global__ void __launch_bounds__(kElementwiseThreads) add_channel_bias_kernel(T* out, const T* bias, int64_t n,
                                                                               int64_t channels) {
  for_each_element(n, [&](int64_t i) { out[i] = from_float<T>(to_float(out[i]) + to_float(bias[i % channels])); });
}

}  // namespace

template <class T>
cudaError_t launch_add_channel_bias(T* out, const T* bias, int64_t rows, int64_t channels, cudaStream_t stream) {
  if (rows < 0 || channels <= 0 || out == nullptr || bias == nullptr) return cudaErrorInvalidValue;
  const int64_t n = rows * channels;
  if (n == 0) return cudaSuccess;
  add_channel_bias_kernel<T><<<elementwise_blocks(n), kElementwiseThreads, 0, stream>>>(out, bias, n, channels);
  return cudaGetLastError();
}

template cudaError_t launch_add_channel_bias<float>(float*, const float*, int64_t, int64_t, cudaStream_t);
template cudaError_t launch_add_channel_bias<__half>(__half*, const __half*, int64_t, int64_t, cudaStream_t);
template cudaError_t launch_add_channel_bias<__nv_bfloat16>(__nv_bfloat16*, const __nv_bfloat16*, int64_t, int64_t,
                                                            cudaStream_t);

}  // namespace genrt::kernels
