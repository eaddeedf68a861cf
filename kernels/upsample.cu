#include "kernels/upsample.cuh"

#include <cstdint>

#include "kernels/elementwise.cuh"

namespace genrt::kernels {

namespace {

// Copies words W: a pixel's channels taken as shape.channels words, so the same index map
// moves up to 16 bytes per access.
template <class W>
__global__ void __launch_bounds__(kElementwiseThreads) upsample_kernel(ref::UpsampleShape s, const W* in, W* out,
                                                                       int64_t n) {
  for_each_element(n, [&](int64_t i) { out[i] = in[ref::upsample_source(s, i)]; });
}

// The widest of W, then the narrower words, that divides a pixel's channels and to which
// both images are aligned.
template <class W, class... Narrower>
cudaError_t launch_words(ref::UpsampleShape s, size_t pixel_bytes, const void* in, void* out, cudaStream_t stream) {
  if constexpr (sizeof...(Narrower) > 0) {
    if (pixel_bytes % sizeof(W) != 0 || reinterpret_cast<uintptr_t>(in) % sizeof(W) != 0 ||
        reinterpret_cast<uintptr_t>(out) % sizeof(W) != 0) {
      return launch_words<Narrower...>(s, pixel_bytes, in, out, stream);
    }
  }
  s.channels = static_cast<int64_t>(pixel_bytes / sizeof(W));
  const int64_t n = 4 * s.batch * s.height * s.width * s.channels;
  upsample_kernel<W><<<elementwise_blocks(n), kElementwiseThreads, 0, stream>>>(s, static_cast<const W*>(in),
                                                                               static_cast<W*>(out), n);
  return cudaGetLastError();
}

}  // namespace

template <class T>
cudaError_t launch_upsample_nearest2x(const ref::UpsampleShape& s, const T* in, T* out, cudaStream_t stream) {
  if (s.batch < 0 || s.height < 0 || s.width < 0 || s.channels < 0) return cudaErrorInvalidValue;
  if (s.batch == 0 || s.height == 0 || s.width == 0 || s.channels == 0) return cudaSuccess;
  if (in == nullptr || out == nullptr) return cudaErrorInvalidValue;
  const size_t pixel_bytes = static_cast<size_t>(s.channels) * sizeof(T);
  if constexpr (sizeof(T) == 2) {
    return launch_words<uint4, uint2, uint32_t, uint16_t>(s, pixel_bytes, in, out, stream);
  } else {
    return launch_words<uint4, uint2, uint32_t>(s, pixel_bytes, in, out, stream);
  }
}

template cudaError_t launch_upsample_nearest2x<float>(const ref::UpsampleShape&, const float*, float*, cudaStream_t);
template cudaError_t launch_upsample_nearest2x<__half>(const ref::UpsampleShape&, const __half*, __half*,
                                                       cudaStream_t);
template cudaError_t launch_upsample_nearest2x<__nv_bfloat16>(const ref::UpsampleShape&, const __nv_bfloat16*,
                                                              __nv_bfloat16*, cudaStream_t);

}  // namespace genrt::kernels
