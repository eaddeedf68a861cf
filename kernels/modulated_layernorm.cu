#include "kernels/modulated_layernorm.cuh"

#include <type_traits>

namespace genrt::kernels {

namespace {

// 256 threads per row: DiT widths (1152 for XL, 768 for B) are 144 or 96 chunks of 8
// bf16, so a row is one or two 16-byte loads per thread and the block reductions stay
// cheap; more threads would idle, fewer would serialize the loads of wide rows.
constexpr int kThreads = 256;

template <class T>
__device__ float to_float(T v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else if constexpr (std::is_same_v<T, __half>) {
    return __half2float(v);
  } else {
    return __bfloat162float(v);
  }
}

template <class T>
__device__ T from_float(float v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(v);
  } else {
    return __float2bfloat16_rn(v);
  }
}

// Sum of v over the block; every thread gets the result. `scratch` holds one float per warp.
__device__ float block_sum(float v, float* scratch) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < blockDim.x / 32 ? scratch[lane] : 0.0f;
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// kVec elements per access: 16 / sizeof(T) when rows are 16-byte aligned, else 1.
template <class T, int kVec>
struct alignas(sizeof(T) * kVec) Pack {
  T v[kVec];
};

// One block per row. The row (after the gated add) is staged in shared memory as fp32 so
// the variance is a second pass over it (no cancellation for rows with a large mean)
// without re-reading global memory.
template <class T, int kVec>
__global__ void __launch_bounds__(kThreads)
    modulated_layernorm_kernel(ModulatedNormLaunch<T> a) {
  extern __shared__ float row[];  // [dim]
  __shared__ float scratch[kThreads / 32];
  using P = Pack<T, kVec>;
  const int64_t r = blockIdx.x, g = r / a.rows_per_group;
  const int64_t packs = a.dim / kVec;
  P* residual = reinterpret_cast<P*>(a.residual + r * a.dim);
  const P* x = a.x ? reinterpret_cast<const P*>(a.x + r * a.dim) : nullptr;
  const P* gate = a.gate ? reinterpret_cast<const P*>(a.gate + g * a.dim) : nullptr;

  float sum = 0.0f;
  for (int64_t p = threadIdx.x; p < packs; p += kThreads) {
    P s = residual[p];
    if (x != nullptr) {
      const P xv = x[p];
      const P gv = gate ? gate[p] : P{};
      for (int i = 0; i < kVec; ++i) {
        const float gi = gate ? to_float(gv.v[i]) : 1.0f;
        s.v[i] = from_float<T>(to_float(s.v[i]) + gi * to_float(xv.v[i]));
      }
      residual[p] = s;
    }
    for (int i = 0; i < kVec; ++i) {
      const float v = to_float(s.v[i]);
      row[p * kVec + i] = v;
      sum += v;
    }
  }
  const float mean = block_sum(sum, scratch) / static_cast<float>(a.dim);
  float sum_sq = 0.0f;
  for (int64_t i = threadIdx.x; i < a.dim; i += kThreads) {
    const float d = row[i] - mean;
    sum_sq += d * d;
  }
  const float inv_std = rsqrtf(block_sum(sum_sq, scratch) / static_cast<float>(a.dim) + a.eps);

  const P* shift = reinterpret_cast<const P*>(a.shift + g * a.dim);
  const P* scale = reinterpret_cast<const P*>(a.scale + g * a.dim);
  P* out = reinterpret_cast<P*>(a.out + r * a.dim);
  for (int64_t p = threadIdx.x; p < packs; p += kThreads) {
    const P sh = shift[p], sc = scale[p];
    P o;
    for (int i = 0; i < kVec; ++i) {
      const float normed = (row[p * kVec + i] - mean) * inv_std;
      o.v[i] = from_float<T>(normed * (1.0f + to_float(sc.v[i])) + to_float(sh.v[i]));
    }
    out[p] = o;
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

template <class T>
cudaError_t launch_modulated_layernorm(const ModulatedNormLaunch<T>& a, cudaStream_t stream) {
  if (a.rows == 0) return cudaSuccess;
  if (a.rows > 0x7fffffff || a.dim <= 0 || a.dim > kMaxModulatedNormDim || a.rows_per_group <= 0) {
    return cudaErrorInvalidValue;
  }
  constexpr int kVec = 16 / sizeof(T);
  const bool vectorized = a.dim % kVec == 0 && aligned16(a.residual) && aligned16(a.out) &&
                          aligned16(a.shift) && aligned16(a.scale) && (a.x == nullptr || aligned16(a.x)) &&
                          (a.gate == nullptr || aligned16(a.gate));
  const size_t shared = static_cast<size_t>(a.dim) * sizeof(float);
  const auto grid = static_cast<unsigned>(a.rows);
  if (vectorized) {
    modulated_layernorm_kernel<T, kVec><<<grid, kThreads, shared, stream>>>(a);
  } else {
    modulated_layernorm_kernel<T, 1><<<grid, kThreads, shared, stream>>>(a);
  }
  return cudaGetLastError();
}

template cudaError_t launch_modulated_layernorm<float>(const ModulatedNormLaunch<float>&, cudaStream_t);
template cudaError_t launch_modulated_layernorm<__half>(const ModulatedNormLaunch<__half>&, cudaStream_t);
template cudaError_t launch_modulated_layernorm<__nv_bfloat16>(const ModulatedNormLaunch<__nv_bfloat16>&,
                                                               cudaStream_t);

}  // namespace genrt::kernels
