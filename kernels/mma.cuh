#pragma once
// The sm_80+ hardware primitives the tensor-core kernels are built from, each a thin wrapper
// over one PTX instruction, with the fragment layout it implies written down once. Each has
// a GPU test on a tiny input against a CPU expectation (tests/gpu/mma_primitives_gpu_test.cpp)
// that runs first in the staged GPU check, so a wrong layout shows up as one named failure.
//
// Fragment layouts of mma.sync m16n8k16 (PTX ISA, "Matrix Fragments for mma.m16n8k16"),
// for lane l, g = l / 4, c = 2 * (l % 4):
//   A 16x16 (row-major), 4 registers of 2 halves: a0 = A[g][c..c+1], a1 = A[g+8][c..c+1],
//     a2 = A[g][c+8..c+9], a3 = A[g+8][c+8..c+9]
//   B 16x8 (k x n), 2 registers: b0 = B[c..c+1][g], b1 = B[c+8..c+9][g]
//   C/D 16x8 fp32, 4 floats: d0,d1 = D[g][c..c+1], d2,d3 = D[g+8][c..c+1]
// ldmatrix .x4: lanes 8i..8i+7 give the row addresses of 8x8 matrix i; register i receives
// row g, columns c..c+1 of matrix i (with .trans: rows c..c+1 of column g).

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

namespace genrt::kernels::sm80 {

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
}

// d += A * B with T (__half or __nv_bfloat16) inputs and fp32 accumulation.
template <class T>
__device__ __forceinline__ void mma_m16n8k16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    static_assert(std::is_same_v<T, __half>, "mma.sync m16n8k16 takes __half or __nv_bfloat16");
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// Two floats rounded to T and packed as one register, `lo` in the low half (the lower
// column of a fragment pair).
template <class T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  uint32_t packed;
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    packed = *reinterpret_cast<const uint32_t*>(&v);
  } else {
    const __half2 v = __floats2half2_rn(lo, hi);
    packed = *reinterpret_cast<const uint32_t*>(&v);
  }
  return packed;
}

// 16 bytes global -> shared, asynchronously (L2 only). With `valid` false nothing is read
// and the 16 bytes are zero-filled, so rows past a sequence's end hold zeros, not stale
// values that could be NaN and poison a product with a zero weight.
__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(smem)), "l"(gmem),
               "r"(valid ? 16 : 0));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

// Waits until at most `kPending` of this thread's committed groups are still in flight.
// Other threads' copies are visible only after a barrier.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

}  // namespace genrt::kernels::sm80
