#include "kernels/norm.cuh"

#include "kernels/type_convert.cuh"

namespace genrt::kernels {

namespace {

// 256 threads per row: Llama widths (2048-8192) and DiT's (768, 1152) are 96 to 1024
// chunks of 8 bf16, so a row is a few 16-byte loads per thread and the two block
// reductions stay cheap; more threads would idle on narrow rows.
constexpr int kThreads = 256;

// Sum of v over the block; every thread gets the result. `scratch` holds one float per warp.
__device__ float block_sum(float v, float* scratch) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by the previous reduction
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

// Element i of an optional vector, or `identity` when it is absent.
template <class T, int kVec>
__device__ float at_or(const Pack<T, kVec>* p, int64_t pack, int i, float identity) {
  return p != nullptr ? to_float(p[pack].v[i]) : identity;
}

// One block per row. The row (after the add) is staged in shared memory as fp32 so the
// variance is a second pass over it (no cancellation for rows with a large mean) without
// re-reading global memory.
template <class T, int kVec>
__global__ void __launch_bounds__(kThreads) norm_kernel(ref::NormArgs<T> a) {
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
      for (int i = 0; i < kVec; ++i) {
        s.v[i] = from_float<T>(ref::residual_add(to_float(s.v[i]), at_or(gate, p, i, 1.0f), to_float(x[p].v[i])));
      }
      residual[p] = s;
    }
    for (int i = 0; i < kVec; ++i) {
      const float v = to_float(s.v[i]);
      row[p * kVec + i] = v;
      sum += v;
    }
  }
  // The loops below read row[] with another thread-to-element mapping than the one that
  // wrote it (packs vs elements): RMSNorm has no block_sum before them to order the two.
  __syncthreads();
  const bool layer = a.kind == ref::NormKind::layer;
  const float mean = layer ? block_sum(sum, scratch) / static_cast<float>(a.dim) : 0.0f;
  float sum_sq = 0.0f;
  for (int64_t i = threadIdx.x; i < a.dim; i += kThreads) {
    const float d = row[i] - mean;
    sum_sq += d * d;
  }
  const float inv_std = rsqrtf(block_sum(sum_sq, scratch) / static_cast<float>(a.dim) + a.eps);

  const P* weight = reinterpret_cast<const P*>(a.weight);
  const P* bias = reinterpret_cast<const P*>(a.bias);
  const P* shift = a.shift ? reinterpret_cast<const P*>(a.shift + g * a.dim) : nullptr;
  const P* scale = a.scale ? reinterpret_cast<const P*>(a.scale + g * a.dim) : nullptr;
  P* out = reinterpret_cast<P*>(a.out + r * a.dim);
  for (int64_t p = threadIdx.x; p < packs; p += kThreads) {
    P o;
    for (int i = 0; i < kVec; ++i) {
      o.v[i] = from_float<T>(ref::normalized_value(row[p * kVec + i], mean, inv_std, at_or(weight, p, i, 1.0f),
                                                   at_or(bias, p, i, 0.0f), at_or(scale, p, i, 0.0f),
                                                   at_or(shift, p, i, 0.0f)));
    }
    out[p] = o;
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

template <class T>
cudaError_t launch_norm(const ref::NormArgs<T>& a, cudaStream_t stream) {
  if (a.rows == 0 || a.dim == 0) return cudaSuccess;
  if (a.rows > 0x7fffffff || a.dim < 0 || a.dim > kMaxNormDim || a.rows_per_group <= 0 ||
      a.residual == nullptr || a.out == nullptr) {
    return cudaErrorInvalidValue;
  }
  constexpr int kVec = 16 / sizeof(T);
  bool vectorized = a.dim % kVec == 0;
  for (const void* p : {static_cast<const void*>(a.x), static_cast<const void*>(a.gate),
                        static_cast<const void*>(a.residual), static_cast<const void*>(a.weight),
                        static_cast<const void*>(a.bias), static_cast<const void*>(a.shift),
                        static_cast<const void*>(a.scale), static_cast<const void*>(a.out)}) {
    vectorized = vectorized && aligned16(p);  // null pointers are aligned
  }
  const size_t shared = static_cast<size_t>(a.dim) * sizeof(float);
  const auto grid = static_cast<unsigned>(a.rows);
  if (vectorized) {
    norm_kernel<T, kVec><<<grid, kThreads, shared, stream>>>(a);
  } else {
    norm_kernel<T, 1><<<grid, kThreads, shared, stream>>>(a);
  }
  return cudaGetLastError();
}

template cudaError_t launch_norm<float>(const ref::NormArgs<float>&, cudaStream_t);
template cudaError_t launch_norm<__half>(const ref::NormArgs<__half>&, cudaStream_t);
template cudaError_t launch_norm<__nv_bfloat16>(const ref::NormArgs<__nv_bfloat16>&, cudaStream_t);

}  // namespace genrt::kernels
