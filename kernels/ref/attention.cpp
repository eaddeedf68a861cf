#include "kernels/ref/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace genrt::ref {

void attention(const AttentionArgs& a) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  const int64_t row = a.n_kv_heads * a.head_dim;  // floats per token slot
  auto slot = [&](const float* cache, int64_t pos, int64_t kv_head) {
    const int64_t block = a.block_table[pos / a.block_size];
    return cache + (block * a.block_size + pos % a.block_size) * row + kv_head * a.head_dim;
  };
  std::vector<float> scores(static_cast<size_t>(a.q_start + a.tokens));
  for (int64_t t = 0; t < a.tokens; ++t) {
    const int64_t position = a.q_start + t, first = first_attended_position(position, a.window);
    for (int64_t h = 0; h < a.n_heads; ++h) {
      const float* q = a.q + (t * a.n_heads + h) * a.head_dim;
      const int64_t kv_head = h / group;
      float max_score = -INFINITY;
      for (int64_t p = first; p <= position; ++p) {
        const float* k = slot(a.k_cache, p, kv_head);
        float dot = 0.0f;
        for (int64_t i = 0; i < a.head_dim; ++i) dot += q[i] * k[i];
        scores[p] = dot * a.scale + (a.bias.table != nullptr ? relative_position_bias(a.bias, p - position, h, a.n_heads) : 0.0f);
        max_score = std::max(max_score, scores[p]);
      }
      float denom = 0.0f;
      for (int64_t p = first; p <= position; ++p) {
        scores[p] = std::exp(scores[p] - max_score);
        denom += scores[p];
      }
      float* out = a.out + (t * a.n_heads + h) * a.head_dim;
      for (int64_t i = 0; i < a.head_dim; ++i) out[i] = 0.0f;
      for (int64_t p = first; p <= position; ++p) {
        const float* v = slot(a.v_cache, p, kv_head);
        const float weight = scores[p] / denom;
        for (int64_t i = 0; i < a.head_dim; ++i) out[i] += weight * v[i];
      }
    }
  }
}

}  // namespace genrt::ref
