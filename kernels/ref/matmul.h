#pragma once
#include <cstdint>

namespace genrt::ref {

// c = a @ w^T + bias: the nn.Linear product, with w stored [out, in] as in checkpoints.
void matmul(const float* a,     // [m, k]
            const float* w,     // [n, k]
            const float* bias,  // [n] or nullptr
            float* c,           // [m, n]
            int64_t m, int64_t n, int64_t k);

}  // namespace genrt::ref
