#pragma once
// One-block launches of the kernels/sm90.cuh wrappers on device buffers
// (tests/gpu/sm90_probes.cu); each synchronizes and returns the first CUDA error. `ok`
// (device) is 1 when the probe's mbarrier wait completed within its bound.

#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::test {

// 64 threads arrive on one mbarrier through two phases; done[t] = phases thread t saw end.
cudaError_t run_mbarrier_probe(int* done);

// The 64 x 64 box at column x, row y of a bf16 [rows, cols] tensor, loaded by TMA with the
// 128-byte swizzle; out receives the 8192 bytes of shared memory as they are.
cudaError_t run_tma_probe(const void* data, int rows, int cols, int x, int y, uint8_t* out, int* ok);

// d[64 x 64] = a b^T for bf16 a, b [64 x 64], through TMA and four wgmma m64n64k16 steps.
cudaError_t run_wgmma_probe(const void* a, const void* b, float* d, int* ok);

// d[64 x 128] = a b for bf16 a [64 x 64] in registers and b [64 x 128] MN-major through TMA
// and wgmma m64n64k16 with A from registers.
cudaError_t run_wgmma_rs_probe(const void* a, const void* b, float* d, int* ok);

}  // namespace genrt::test
