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

// Two warpgroups take `turns` turns each on named barriers (the attention kernel's ping-pong);
// order[2 * turns] receives the warpgroup of each turn in the order taken (ticket: one
// device int, zero).
cudaError_t run_pingpong_probe(int* order, int* ticket, int turns);

// 384 threads split their registers 40 / 232 with setmaxnreg; out[256] receives, for
// consumer thread t, the sum over i < 200 of one[i] * (t + 1) * (i + 1) (one: 200 ones).
cudaError_t run_setmaxnreg_probe(const float* one, float* out);

}  // namespace genrt::test
