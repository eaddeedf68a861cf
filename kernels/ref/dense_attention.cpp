#include "kernels/ref/dense_attention.h"

#include <cmath>
#include <vector>

#include "kernels/ref/softmax.h"

namespace genrt::ref {

void dense_attention(const DenseAttentionArgs& a) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  const int64_t q_row = a.n_heads * a.head_dim, kv_row = a.n_kv_heads * a.head_dim;
  // Query rows are independent: spread them over threads when there is enough work.
  const bool parallel = a.batch * a.tokens * a.kv_tokens * q_row >= (int64_t{1} << 20);
#pragma omp parallel if (parallel)
  {
    std::vector<float> scores(static_cast<size_t>(a.kv_tokens));
#pragma omp for schedule(static)
    for (int64_t row = 0; row < a.batch * a.tokens; ++row) {
      const int64_t b = row / a.tokens;
      const float* k = a.k + b * a.kv_tokens * kv_row;
      const float* v = a.v + b * a.kv_tokens * kv_row;
      for (int64_t h = 0; h < a.n_heads; ++h) {
        const float* q = a.q + row * q_row + h * a.head_dim;
        const int64_t kv_offset = (h / group) * a.head_dim;
        for (int64_t s = 0; s < a.kv_tokens; ++s) {
          float dot = 0.0f;
          for (int64_t d = 0; d < a.head_dim; ++d) dot += q[d] * k[s * kv_row + kv_offset + d];
          scores[s] = dot * a.scale +
                      (a.bias.table != nullptr ? relative_position_bias(a.bias, s - row % a.tokens, h, a.n_heads) : 0.0f);
        }
        softmax(scores.data(), 1, a.kv_tokens);
        float* out = a.out + row * q_row + h * a.head_dim;
        for (int64_t d = 0; d < a.head_dim; ++d) out[d] = 0.0f;
        for (int64_t s = 0; s < a.kv_tokens; ++s) {
          for (int64_t d = 0; d < a.head_dim; ++d) out[d] += scores[s] * v[s * kv_row + kv_offset + d];
        }
      }
    }
  }
}

}  // namespace genrt::ref
