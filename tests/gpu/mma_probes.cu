// Device sides of the hardware-primitive tests (mma_primitives_gpu_test.cpp): one warp runs
// one wrapper of kernels/mma.cuh on a tiny input and writes what each lane holds, so the
// test compares it with the layout documented there.

#include "tests/gpu/mma_probes.h"

#include "kernels/flash_tile.cuh"
#include "kernels/mma.cuh"

namespace genrt::test {

namespace {

using namespace kernels::sm80;
namespace flash = kernels::flash;

// The fragments built element by element from the documented layouts (not with ldmatrix),
// so this checks mma.sync's A, B and C layouts alone.
template <class T>
__global__ void mma_probe_kernel(const T* a, const T* b, float* d) {
  const int lane = threadIdx.x, g = lane / 4, c = 2 * (lane % 4);
  auto pair = [](T lo, T hi) {
    const T both[2] = {lo, hi};
    uint32_t packed;
    memcpy(&packed, both, sizeof(packed));
    return packed;
  };
  const uint32_t fa[4] = {pair(a[g * 16 + c], a[g * 16 + c + 1]), pair(a[(g + 8) * 16 + c], a[(g + 8) * 16 + c + 1]),
                          pair(a[g * 16 + c + 8], a[g * 16 + c + 9]),
                          pair(a[(g + 8) * 16 + c + 8], a[(g + 8) * 16 + c + 9])};
  const uint32_t b0 = pair(b[c * 8 + g], b[(c + 1) * 8 + g]), b1 = pair(b[(c + 8) * 8 + g], b[(c + 9) * 8 + g]);
  float acc[4] = {1.0f, 1.0f, 1.0f, 1.0f};  // accumulates onto C = 1
  mma_m16n8k16<T>(acc, fa, b0, b1);
  d[g * 8 + c] = acc[0];
  d[g * 8 + c + 1] = acc[1];
  d[(g + 8) * 8 + c] = acc[2];
  d[(g + 8) * 8 + c + 1] = acc[3];
}

// A 16x16 b16 matrix in shared memory (rows padded to 24 elements, as the kernels pad);
// lane l points at row l % 16, column 8 * (l / 16) - the A-operand addressing.
template <bool kTrans>
__global__ void ldmatrix_probe_kernel(const uint16_t* matrix, uint32_t* out) {
  __shared__ __align__(16) uint16_t tile[16 * 24];
  const int lane = threadIdx.x;
  for (int i = lane; i < 256; i += 32) tile[(i / 16) * 24 + i % 16] = matrix[i];
  __syncwarp();
  uint32_t r[4];
  const uint16_t* row = tile + (lane % 16) * 24 + (lane / 16) * 8;
  if constexpr (kTrans) {
    ldmatrix_x4_trans(r, row);
  } else {
    ldmatrix_x4(r, row);
  }
  for (int i = 0; i < 4; ++i) out[lane * 4 + i] = r[i];
}

// Four 16-byte chunks copied asynchronously, chunks 1 and 3 as invalid (zero-filled), into
// shared memory pre-set to 0xff, then waited for and copied out.
__global__ void cp_async_probe_kernel(const uint4* src, uint4* out) {
  __shared__ __align__(16) uint4 staged[4];
  const int lane = threadIdx.x;
  if (lane < 4) staged[lane] = make_uint4(~0u, ~0u, ~0u, ~0u);
  __syncwarp();
  if (lane < 4) cp_async_16(&staged[lane], src + lane, lane % 2 == 0);
  cp_async_commit();
  cp_async_wait<0>();
  __syncwarp();
  if (lane < 4) out[lane] = staged[lane];
}

// One warp's flash steps on 16 rows of q, 32 keys and head dim 32, all staged in padded
// shared memory as the kernels stage them: s = q k^T (compute_scores), then, with the
// scores as probabilities as they are (online_softmax left out), o = s v
// (accumulate_values). Writes s [16 x 32] and o [16 x 32] row-major.
template <class T>
__global__ void warp_tile_probe_kernel(const T* q, const T* k, const T* v, float* s_out, float* o_out) {
  constexpr int kDim = 32, kKeys = 32, kStride = kDim + 8;
  __shared__ __align__(16) T q_rows[16 * kStride], k_rows[kKeys * kStride], v_rows[kKeys * kStride];
  const int lane = threadIdx.x;
  for (int i = lane; i < 16 * kDim; i += 32) q_rows[i / kDim * kStride + i % kDim] = q[i];
  for (int i = lane; i < kKeys * kDim; i += 32) {
    k_rows[i / kDim * kStride + i % kDim] = k[i];
    v_rows[i / kDim * kStride + i % kDim] = v[i];
  }
  __syncwarp();
  uint32_t q_fragments[kDim / 16][4];
  flash::load_a_fragments<kDim>(q_fragments, q_rows, kStride);
  float s[kKeys / 8][4];
  flash::compute_scores<T, kDim, kKeys, true>(s, q_fragments, q_rows, k_rows, kStride);
  for (int t = 0; t < kKeys / 8; ++t) {
    for (int i = 0; i < 4; ++i) {
      s_out[flash::fragment_row(lane, i / 2) * kKeys + t * 8 + flash::fragment_col(lane) + i % 2] = s[t][i];
    }
  }
  flash::RowState<kDim> state;
  state.init();
  flash::accumulate_values<T, kDim, kKeys>(state, s, v_rows, kStride);
  for (int t = 0; t < kDim / 8; ++t) {
    for (int i = 0; i < 4; ++i) {
      o_out[flash::fragment_row(lane, i / 2) * kDim + t * 8 + flash::fragment_col(lane) + i % 2] = state.o[t][i];
    }
  }
}

cudaError_t finish() {
  const cudaError_t launched = cudaGetLastError();
  return launched != cudaSuccess ? launched : cudaDeviceSynchronize();
}

}  // namespace

template <class T>
cudaError_t run_mma_probe(const T* a, const T* b, float* d) {
  mma_probe_kernel<T><<<1, 32>>>(a, b, d);
  return finish();
}

cudaError_t run_ldmatrix_probe(const uint16_t* matrix, bool trans, uint32_t* out) {
  if (trans) {
    ldmatrix_probe_kernel<true><<<1, 32>>>(matrix, out);
  } else {
    ldmatrix_probe_kernel<false><<<1, 32>>>(matrix, out);
  }
  return finish();
}

cudaError_t run_cp_async_probe(const void* src, void* out) {
  cp_async_probe_kernel<<<1, 32>>>(static_cast<const uint4*>(src), static_cast<uint4*>(out));
  return finish();
}

template <class T>
cudaError_t run_warp_tile_probe(const T* q, const T* k, const T* v, float* s, float* o) {
  warp_tile_probe_kernel<T><<<1, 32>>>(q, k, v, s, o);
  return finish();
}

template cudaError_t run_warp_tile_probe<__half>(const __half*, const __half*, const __half*, float*, float*);
template cudaError_t run_warp_tile_probe<__nv_bfloat16>(const __nv_bfloat16*, const __nv_bfloat16*,
                                                        const __nv_bfloat16*, float*, float*);
template cudaError_t run_mma_probe<__half>(const __half*, const __half*, float*);
template cudaError_t run_mma_probe<__nv_bfloat16>(const __nv_bfloat16*, const __nv_bfloat16*, float*);

}  // namespace genrt::test
