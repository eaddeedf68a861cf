#pragma once
// GENRT_HOST_DEVICE marks the reference formulas that the CUDA kernels call too, so an op's
// math is written once: plain inline functions for the host compiler, __host__ __device__
// under nvcc.

#if defined(__CUDACC__)
#define GENRT_HOST_DEVICE __host__ __device__
#else
#define GENRT_HOST_DEVICE
#endif
