// Device sides of the Hopper primitive tests (sm90_primitives_gpu_test.cpp): an mbarrier
// through two phases, a TMA 2-D load into 128-byte-swizzled shared memory, a wgmma
// m64n64k16 chain over TMA-loaded operands, two warpgroups' turns on named barriers and the
// setmaxnreg register split. Waits are bounded, so a wrong primitive is a
// failed test, not a hung GPU check.

#include "tests/gpu/sm90_probes.h"

#include "kernels/sm90.cuh"
#include "kernels/tensor_map.cuh"

namespace genrt::test {

namespace {

using namespace kernels::sm90;

constexpr int kTries = 1 << 20;

__device__ bool bounded_wait(uint64_t* bar, uint32_t phase) {
  for (int i = 0; i < kTries; ++i) {
    if (mbarrier_try_wait(bar, phase)) return true;
  }
  return false;
}

// 64 threads arrive twice; done[t] counts the phases thread t saw complete.
__global__ void mbarrier_probe_kernel(int* done) {
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) mbarrier_init(&bar, blockDim.x);
  fence_barrier_init();
  __syncthreads();
  int seen = 0;
  for (uint32_t phase = 0; phase < 2; ++phase) {
    mbarrier_arrive(&bar);
    seen += bounded_wait(&bar, phase) ? 1 : 0;
  }
  done[threadIdx.x] = seen;
}

// 1024-byte-aligned shared memory for swizzled tiles, from dynamic shared memory.
__device__ uint8_t* aligned_tiles(uint8_t* raw) {
  const uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(raw));
  return raw + ((1024 - address % 1024) % 1024);
}

// The 64 x 64 box at (x, y) of `map`, copied out byte for byte (still swizzled).
__global__ void tma_probe_kernel(const __grid_constant__ CUtensorMap map, int x, int y, uint8_t* out, int* ok) {
  extern __shared__ uint8_t raw[];
  uint8_t* tile = aligned_tiles(raw);
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) mbarrier_init(&bar, 1);
  fence_barrier_init();
  __syncthreads();
  if (threadIdx.x == 0) {
    mbarrier_arrive_expect_tx(&bar, 64 * 64 * 2);
    tma_load_2d(tile, &map, &bar, x, y);
  }
  const bool arrived = bounded_wait(&bar, 0);
  if (threadIdx.x == 0) *ok = arrived ? 1 : 0;
  for (int i = threadIdx.x; i < 64 * 64 * 2; i += blockDim.x) out[i] = tile[i];
}

// d = a b^T for 64 x 64 bf16 a and b loaded by TMA (swizzled), by four wgmma k16 steps
// with descriptors advanced 32 bytes a step; d written out row-major by its fragment layout.
__global__ void wgmma_probe_kernel(const __grid_constant__ CUtensorMap a_map, const __grid_constant__ CUtensorMap b_map,
                                   float* d, int* ok) {
  extern __shared__ uint8_t raw[];
  uint8_t* a_tile = aligned_tiles(raw);
  uint8_t* b_tile = a_tile + 64 * 128;
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) mbarrier_init(&bar, 1);
  fence_barrier_init();
  __syncthreads();
  if (threadIdx.x == 0) {
    mbarrier_arrive_expect_tx(&bar, 2 * 64 * 64 * 2);
    tma_load_2d(a_tile, &a_map, &bar, 0, 0);
    tma_load_2d(b_tile, &b_map, &bar, 0, 0);
  }
  const bool arrived = bounded_wait(&bar, 0);
  if (threadIdx.x == 0) *ok = arrived ? 1 : 0;
  if (!__syncthreads_and(arrived)) return;
  float acc[32];
  for (float& v : acc) v = 0.0f;
  wgmma_fence();
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    wgmma_m64n64k16_ss<__nv_bfloat16>(acc, swizzle128_descriptor(a_tile + 32 * k),
                                      swizzle128_descriptor(b_tile + 32 * k), k > 0);
  }
  wgmma_commit();
  wgmma_wait<0>();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, c = 2 * (lane % 4);
  for (int j = 0; j < 8; ++j) {
    const int row = 16 * warp + g, col = 8 * j + c;
    d[row * 64 + col] = acc[4 * j];
    d[row * 64 + col + 1] = acc[4 * j + 1];
    d[(row + 8) * 64 + col] = acc[4 * j + 2];
    d[(row + 8) * 64 + col + 1] = acc[4 * j + 3];
  }
}

// d = a b for bf16 a [64 x 64] (row-major, K contiguous) taken into registers in the A
// fragment layout, and b [64 x 128] (row-major: N contiguous, MN-major) loaded by TMA as two
// 64-column panels; per k16 step one wgmma per panel, the MN-major descriptor advanced 16
// rows (2048 bytes) a step. d is [64 x 128].
__global__ void wgmma_rs_probe_kernel(const __nv_bfloat16* a, const __grid_constant__ CUtensorMap b_map, float* d,
                                      int* ok) {
  extern __shared__ uint8_t raw[];
  uint8_t* b_tile = aligned_tiles(raw);  // panel p at p * 8192
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) mbarrier_init(&bar, 1);
  fence_barrier_init();
  __syncthreads();
  if (threadIdx.x == 0) {
    mbarrier_arrive_expect_tx(&bar, 2 * 64 * 64 * 2);
    tma_load_2d(b_tile, &b_map, &bar, 0, 0);
    tma_load_2d(b_tile + 8192, &b_map, &bar, 64, 0);
  }
  const bool arrived = bounded_wait(&bar, 0);
  if (threadIdx.x == 0) *ok = arrived ? 1 : 0;
  if (!__syncthreads_and(arrived)) return;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, c = 2 * (lane % 4);
  auto pair = [&](int row, int col) {
    uint32_t packed;
    memcpy(&packed, a + row * 64 + col, sizeof(packed));
    return packed;
  };
  float acc[2][32];
  for (auto& panel : acc) {
    for (float& v : panel) v = 0.0f;
  }
  wgmma_fence();
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const int row = 16 * warp + g, col = 16 * k + c;
    const uint32_t fragment[4] = {pair(row, col), pair(row + 8, col), pair(row, col + 8), pair(row + 8, col + 8)};
#pragma unroll
    for (int panel = 0; panel < 2; ++panel) {
      wgmma_m64n64k16_rs<__nv_bfloat16>(acc[panel], fragment, swizzle128_descriptor(b_tile + panel * 8192 + 2048 * k, 8192),
                                        true);
    }
  }
  wgmma_commit();
  wgmma_wait<0>();
  for (int panel = 0; panel < 2; ++panel) {
    for (int j = 0; j < 8; ++j) {
      const int row = 16 * warp + g, col = 64 * panel + 8 * j + c;
      d[row * 128 + col] = acc[panel][4 * j];
      d[row * 128 + col + 1] = acc[panel][4 * j + 1];
      d[(row + 8) * 128 + col] = acc[panel][4 * j + 2];
      d[(row + 8) * 128 + col + 1] = acc[panel][4 * j + 3];
    }
  }
}

// A bf16 [rows, cols] row-major tensor's map with 64 x 64 boxes and the 128-byte swizzle.
cudaError_t encode_map(CUtensorMap& map, const void* data, int rows, int cols) {
  return kernels::make_swizzled_tensor_map(map, data, true, rows, cols, cols, 64);
}

// Two warpgroups take turns on named barriers 1 and 2 as the warp-specialized attention
// kernel's consumers do: warpgroup 1 arrives on warpgroup 0's barrier first, each takes
// `turns` turns, and warpgroup 1 skips its last arrival. In a turn, thread 0 of the
// warpgroup takes the next ticket and writes its warpgroup there: order = 0, 1, 0, 1, ...
__global__ void pingpong_probe_kernel(int* order, int* ticket, int turns) {
  const int warpgroup = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x / 128), 0);
  if (warpgroup == 1) named_barrier_arrive<1>(256);
  for (int turn = 0; turn < turns; ++turn) {
    if (warpgroup == 0) {
      named_barrier_sync<1>(256);
    } else {
      named_barrier_sync<2>(256);
    }
    if (threadIdx.x % 128 == 0) order[atomicAdd(ticket, 1)] = warpgroup;
    __syncwarp();
    if (warpgroup == 0) {
      named_barrier_arrive<2>(256);
    } else if (turn < turns - 1) {
      named_barrier_arrive<1>(256);
    }
  }
}

// The register split of the warp-specialized attention kernel (its 40 and 232 a thread of
// 384 threads): warpgroup 0 gives registers back and leaves, the other two take them and
// keep 200 values live; out[t] = the sum of thread t's values, (t + 1) * 200 * 201 / 2.
__global__ void __launch_bounds__(384, 1) setmaxnreg_probe_kernel(const float* one, float* out) {
  const int warpgroup = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x / 128), 0);
  if (warpgroup == 0) {
    setmaxnreg_dec<40>();
    return;
  }
  setmaxnreg_inc<232>();
  float v[200];
#pragma unroll
  for (int i = 0; i < 200; ++i) v[i] = one[i] * static_cast<float>((threadIdx.x - 127) * (i + 1));
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < 200; ++i) sum += v[199 - i];
  out[threadIdx.x - 128] = sum;
}

cudaError_t finish() {
  const cudaError_t launched = cudaGetLastError();
  return launched != cudaSuccess ? launched : cudaDeviceSynchronize();
}

constexpr int kTileSmem = 2 * 64 * 128 + 1024;  // two swizzled 64 x 64 bf16 tiles, aligned

}  // namespace

cudaError_t run_mbarrier_probe(int* done) {
  mbarrier_probe_kernel<<<1, 64>>>(done);
  return finish();
}

cudaError_t run_tma_probe(const void* data, int rows, int cols, int x, int y, uint8_t* out, int* ok) {
  CUtensorMap map;
  if (const cudaError_t status = encode_map(map, data, rows, cols); status != cudaSuccess) return status;
  tma_probe_kernel<<<1, 128, kTileSmem>>>(map, x, y, out, ok);
  return finish();
}

cudaError_t run_wgmma_probe(const void* a, const void* b, float* d, int* ok) {
  CUtensorMap a_map, b_map;
  if (const cudaError_t status = encode_map(a_map, a, 64, 64); status != cudaSuccess) return status;
  if (const cudaError_t status = encode_map(b_map, b, 64, 64); status != cudaSuccess) return status;
  wgmma_probe_kernel<<<1, 128, kTileSmem>>>(a_map, b_map, d, ok);
  return finish();
}

cudaError_t run_wgmma_rs_probe(const void* a, const void* b, float* d, int* ok) {
  CUtensorMap b_map;
  if (const cudaError_t status = encode_map(b_map, b, 64, 128); status != cudaSuccess) return status;
  wgmma_rs_probe_kernel<<<1, 128, kTileSmem>>>(static_cast<const __nv_bfloat16*>(a), b_map, d, ok);
  return finish();
}

cudaError_t run_pingpong_probe(int* order, int* ticket, int turns) {
  pingpong_probe_kernel<<<1, 256>>>(order, ticket, turns);
  return finish();
}

cudaError_t run_setmaxnreg_probe(const float* one, float* out) {
  setmaxnreg_probe_kernel<<<1, 384>>>(one, out);
  return finish();
}

}  // namespace genrt::test
