#include "kernels/patchify.cuh"

#include "kernels/elementwise.cuh"
#include "kernels/type_convert.cuh"

namespace genrt::kernels {

namespace {

// A thread per pixel: the image side (read by patchify, written by unpatchify) is walked
// in order and coalesced; the token side is a permutation within each patch row, so its
// accesses stay within a few cache lines per warp.
template <class T, bool kToTokens>
__global__ void __launch_bounds__(kElementwiseThreads) patchify_kernel(PatchifyLaunch<T> a) {
  const ref::PatchShape& s = a.shape;
  for_each_element(s.batch * s.channels * s.height * s.width, [&](int64_t i) {
    if constexpr (kToTokens) {
      a.tokens[ref::patch_offset(s, i, ref::PatchOrder::channel_first)] = from_float<T>(a.image[i]);
    } else {
      a.image[i] = to_float(a.tokens[ref::patch_offset(s, i, ref::PatchOrder::channel_last)]);
    }
  });
}

template <class T, bool kToTokens>
cudaError_t launch(const PatchifyLaunch<T>& a, cudaStream_t stream) {
  const ref::PatchShape& s = a.shape;
  if (s.batch < 0 || s.channels <= 0 || s.patch <= 0 || s.height % s.patch != 0 || s.width % s.patch != 0 ||
      a.image == nullptr || a.tokens == nullptr) {
    return cudaErrorInvalidValue;
  }
  const int64_t n = s.batch * s.channels * s.height * s.width;
  if (n == 0) return cudaSuccess;
  patchify_kernel<T, kToTokens><<<elementwise_blocks(n), kElementwiseThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

template <class T>
cudaError_t launch_patchify(const PatchifyLaunch<T>& a, cudaStream_t stream) {
  return launch<T, true>(a, stream);
}

template <class T>
cudaError_t launch_unpatchify(const PatchifyLaunch<T>& a, cudaStream_t stream) {
  return launch<T, false>(a, stream);
}

#define GENRT_INSTANTIATE_PATCHIFY(T)                                                     \
  template cudaError_t launch_patchify<T>(const PatchifyLaunch<T>&, cudaStream_t);      \
  template cudaError_t launch_unpatchify<T>(const PatchifyLaunch<T>&, cudaStream_t);
GENRT_INSTANTIATE_PATCHIFY(float)
GENRT_INSTANTIATE_PATCHIFY(__half)
GENRT_INSTANTIATE_PATCHIFY(__nv_bfloat16)
#undef GENRT_INSTANTIATE_PATCHIFY

}  // namespace genrt::kernels
