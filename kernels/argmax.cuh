#pragma once
// Greedy decoding on the GPU: the index of each row's largest logit (see
// kernels/ref/argmax.h: the first on ties, NaN never wins).

#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::kernels {

cudaError_t launch_argmax(const float* logits,  // [rows, vocab] fp32
                          int32_t* out,         // [rows]
                          int64_t rows, int64_t vocab, cudaStream_t stream);

}  // namespace genrt::kernels
