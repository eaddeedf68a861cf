#pragma once
// The Hopper (sm_90a) primitives a FlashAttention-3-style kernel is built from, each a thin
// wrapper over PTX with its layout written down once: mbarriers (a transaction count that
// TMA copies complete), TMA 2-D tile loads into 128-byte-swizzled shared memory, and
// warpgroup MMAs (wgmma) reading both operands through shared-memory descriptors, and the
// register reallocation and named barriers of warp-specialized kernels. Each
// has a GPU test on a tiny input (tests/gpu/sm90_primitives_gpu_test.cpp). Outside an
// sm_90a compilation the device functions trap.
//
// Layouts:
//  - 128-byte swizzle (TMA CU_TENSOR_MAP_SWIZZLE_128B, wgmma layout type 1): rows of 128
//    bytes in atoms of 8 rows (1024 bytes, 1024-aligned); the 16-byte chunk c of row r sits
//    at chunk c ^ (r % 8).
//  - wgmma m64n64k16 on one 64-column panel: the descriptor's stride byte offset is one
//    atom (1024 bytes). K-major operands (A 64 x 16, B^T 64 x 16): the k16 step advances the
//    start address by 32 bytes within the 128-byte rows. An MN-major B (16 x 64, rows of K):
//    the k16 step advances it by 16 rows, 2048 bytes.
//  - wgmma's fp32 accumulator, 128 threads: warp w holds rows 16w..16w+15 like an m16n8 mma
//    tile per n8 chunk j: d[4j + 0..1] = D[16w + g][8j + c..c+1], d[4j + 2..3] = D[16w + g +
//    8][8j + c..c+1], with g = lane / 4 and c = 2 (lane % 4).

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

namespace genrt::kernels::sm90 {

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define GENRT_SM90(body) body
#else
#define GENRT_SM90(body) __trap();
#endif

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// --- mbarrier ---------------------------------------------------------------------------

__device__ __forceinline__ void mbarrier_init(uint64_t* bar, uint32_t arrivals) {
  GENRT_SM90(asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(shared_address(bar)), "r"(arrivals));)
}

// Makes initialized barriers visible to the async proxy (TMA) before any copy names them.
__device__ __forceinline__ void fence_barrier_init() {
  GENRT_SM90(asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");)
}

// One arrival that also expects `bytes` more to be completed by copies in this phase.
__device__ __forceinline__ void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
  GENRT_SM90(asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(shared_address(bar)),
                          "r"(bytes)
                          : "memory");)
}

__device__ __forceinline__ void mbarrier_arrive(uint64_t* bar) {
  GENRT_SM90(
      asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(shared_address(bar)) : "memory");)
}

// Whether the phase with parity `phase` (0, 1, 0, ...) has completed, after waiting a
// while for it (the hardware's time limit).
__device__ __forceinline__ bool mbarrier_try_wait(uint64_t* bar, uint32_t phase) {
  uint32_t done = 0;
  GENRT_SM90(asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
      "selp.u32 %0, 1, 0, p;\n"
      "}\n"
      : "=r"(done)
      : "r"(shared_address(bar)), "r"(phase)
      : "memory");)
  return done != 0;
}

// Waits for the phase; traps after about a second (a lost copy or a wrong byte count), so a
// bad barrier is a launch failure, never a hung GPU.
__device__ __forceinline__ void mbarrier_wait(uint64_t* bar, uint32_t phase) {
  const long long deadline = clock64() + (1ll << 31);
  while (!mbarrier_try_wait(bar, phase)) {
    if (clock64() > deadline) __trap();
  }
}

// The same wait that gives up instead after about a second: false then (a lost copy or a
// wrong byte count gives a wrong result, not a hung GPU). For warp-specialized kernels: a
// __trap() anywhere after setmaxnreg makes ptxas compile that code within the launch's
// register count instead (nvcc 13.0, measured: the consumers spilled and their wgmma were
// serialized at 168 registers), so they cannot use mbarrier_wait.
__device__ __forceinline__ bool mbarrier_wait_bounded(uint64_t* bar, uint32_t phase) {
  const long long deadline = clock64() + (1ll << 31);
  while (!mbarrier_try_wait(bar, phase)) {
    if (clock64() > deadline) return false;
  }
  return true;
}

// --- TMA --------------------------------------------------------------------------------

// The box at element (x, y) of the 2-D tensor `map` describes (x along the contiguous
// dimension) into `dst`, completing its bytes on `bar`. Out-of-bounds elements read as zero.
__device__ __forceinline__ void tma_load_2d(void* dst, const void* map, uint64_t* bar, int32_t x, int32_t y) {
  GENRT_SM90(asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4}], [%2];\n" ::
          "r"(shared_address(dst)),
      "l"(map), "r"(shared_address(bar)), "r"(x), "r"(y)
      : "memory");)
}

// --- wgmma ------------------------------------------------------------------------------

// The descriptor of an operand in 128-byte-swizzled shared memory at `tile`, one panel of
// 64 16-bit columns wide, its 8-row atoms 1024 bytes apart (the stride byte offset). K-major
// (Q, K): the k16 step moves the start 32 bytes along a row. MN-major (V): the k16 step
// moves it 16 rows (2048 bytes). The leading byte offset (the next 64-column panel) is never
// used by an m64n64k16 on one panel; it is given as the panel's size anyway.
__device__ __forceinline__ uint64_t swizzle128_descriptor(const void* tile, uint32_t panel_bytes = 16) {
  const uint64_t start = (shared_address(tile) & 0x3FFFF) >> 4;
  const uint64_t leading = (panel_bytes >> 4) & 0x3FFF;
  constexpr uint64_t kStride = 1024 >> 4, kSwizzle128 = 1;
  return start | leading << 16 | kStride << 32 | kSwizzle128 << 62;
}

__device__ __forceinline__ void wgmma_fence() { GENRT_SM90(asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");) }
__device__ __forceinline__ void wgmma_commit() {
  GENRT_SM90(asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");)
}
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  GENRT_SM90(asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");)
}

// The 32 accumulator registers of an m64n64 fp32 result, as asm operands %0..%31.
#define GENRT_WGMMA_D                                                                                         \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, " \
  "%23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define GENRT_WGMMA_D_OPERANDS                                                                               \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), \
      "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),   \
      "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),  \
      "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])

// Both operands from shared memory, K-major: a is 64 x 16 of A, b is 64 x 16 of B^T.
#define GENRT_WGMMA_SS(type)                                                                               \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                                             \
               "wgmma.mma_async.sync.aligned.m64n64k16.f32." type "." type " " GENRT_WGMMA_D               \
               ", %32, %33, p, 1, 1, 0, 0;\n}\n"                                                          \
               : GENRT_WGMMA_D_OPERANDS                                                                  \
               : "l"(a), "l"(b), "r"(static_cast<int>(accumulate)))
// A from registers (the m16n8k16 A-fragment layout per warp, warp w holding rows 16w..),
// B from shared memory MN-major (transposed: 16 rows of K, 64 contiguous columns of N).
#define GENRT_WGMMA_RS(type)                                                                               \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                                             \
               "wgmma.mma_async.sync.aligned.m64n64k16.f32." type "." type " " GENRT_WGMMA_D               \
               ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"                                           \
               : GENRT_WGMMA_D_OPERANDS                                                                  \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(static_cast<int>(accumulate)))

// d (64 x 64 fp32, 32 registers a thread) = A B (+ d when `accumulate`) for 16 of K, with T
// __half or __nv_bfloat16. Issue between wgmma_fence() and wgmma_commit(); the result is
// there after wgmma_wait(). _ss: A (64 x 16) and B^T (64 x 16) both K-major behind
// descriptors; _rs: A in registers, B (16 x 64) MN-major behind a descriptor.
template <class T>
__device__ __forceinline__ void wgmma_m64n64k16_ss(float (&d)[32], uint64_t a, uint64_t b, bool accumulate) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    GENRT_SM90(GENRT_WGMMA_SS("bf16");)
  } else {
    GENRT_SM90(GENRT_WGMMA_SS("f16");)
  }
}

template <class T>
__device__ __forceinline__ void wgmma_m64n64k16_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t b,
                                                   bool accumulate) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    GENRT_SM90(GENRT_WGMMA_RS("bf16");)
  } else {
    GENRT_SM90(GENRT_WGMMA_RS("f16");)
  }
}

#undef GENRT_WGMMA_SS
#undef GENRT_WGMMA_RS
#undef GENRT_WGMMA_D
#undef GENRT_WGMMA_D_OPERANDS

// Keeps the compiler from moving reads or writes of these registers across a wgmma fence or
// wait (CUTLASS's warpgroup_fence_operand).
template <int kN>
__device__ __forceinline__ void fence_registers(float (&r)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int kN>
__device__ __forceinline__ void fence_registers(uint32_t (&r)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) asm volatile("" : "+r"(r[i])::"memory");
}

// --- warpgroup roles ---------------------------------------------------------------------

// Every warp of the warpgroup lowers (dec) or raises (inc) its threads' register limit to
// kRegisters (24 to 256, a multiple of 8): a producer warpgroup gives back what its
// consumers take. inc waits until the registers are free.
template <int kRegisters>
__device__ __forceinline__ void setmaxnreg_dec() {
  static_assert(kRegisters >= 24 && kRegisters <= 256 && kRegisters % 8 == 0);
  GENRT_SM90(asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegisters));)
}
template <int kRegisters>
__device__ __forceinline__ void setmaxnreg_inc() {
  static_assert(kRegisters >= 24 && kRegisters <= 256 && kRegisters % 8 == 0);
  GENRT_SM90(asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegisters));)
}

// Named barrier kId (1 to 15; 0 is __syncthreads') of `threads` threads (a multiple of
// 32), whole converged warps taking part: sync waits for the count, arrive counts without
// waiting. Two warpgroups take turns with a pair of them (FlashAttention-3's ping-pong):
// each syncs on its own before its turn and arrives on the other's after it. The id is an
// immediate so that ptxas reserves only the barriers a kernel names.
template <int kId>
__device__ __forceinline__ void named_barrier_sync(int threads) {
  static_assert(kId >= 1 && kId <= 15);
  asm volatile("bar.sync %0, %1;\n" ::"n"(kId), "r"(threads) : "memory");
}
template <int kId>
__device__ __forceinline__ void named_barrier_arrive(int threads) {
  static_assert(kId >= 1 && kId <= 15);
  asm volatile("bar.arrive %0, %1;\n" ::"n"(kId), "r"(threads) : "memory");
}

// Orders this thread's generic-proxy writes to shared memory before later async-proxy
// reads of it (a wgmma operand zeroed by ordinary stores).
__device__ __forceinline__ void fence_proxy_async() {
  GENRT_SM90(asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");)
}

#undef GENRT_SM90

}  // namespace genrt::kernels::sm90
