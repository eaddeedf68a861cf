#pragma once
// TMA descriptors (CUtensorMap) for the Hopper kernels, made on the host through the driver
// entry point the CUDA runtime hands out (genrt links no libcuda directly).

#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::kernels {

// A row-major 2-D tensor of 16-bit elements (bf16 or fp16), `rows` x `cols`, rows
// `row_stride` elements apart, read in boxes of `box_rows` x 64 columns (128 bytes) that
// land 128-byte swizzled in shared memory (kernels/sm90.cuh); reads out of bounds give
// zeros. cudaErrorInvalidValue when the driver refuses the shape (a stride not a multiple
// of 16 bytes, an unaligned address, a box over 256 rows).
cudaError_t make_swizzled_tensor_map(CUtensorMap& map, const void* data, bool bf16, uint64_t rows, uint64_t cols,
                                     uint64_t row_stride, uint32_t box_rows);

}  // namespace genrt::kernels
