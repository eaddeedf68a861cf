#pragma once
// T5's relative position bias: attention scores get a learned bias per head and per bucket
// of the key's position relative to the query's. Buckets are exact for small distances and
// logarithmic up to max_distance (everything further shares the last); the encoder's are
// bidirectional (half the buckets for keys after the query), the decoder's look back only.
// Host and device code alike compute buckets here.

#include <cmath>
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

struct RelativePositionBias {
  const float* table = nullptr;  // [num_buckets, n_heads] (HF's relative_attention_bias.weight); null: no bias
  int64_t num_buckets = 0;
  int64_t max_distance = 0;
  bool bidirectional = false;
};

// The bucket of `relative` = key position - query position, as transformers'
// T5Attention._relative_position_bucket computes it (its logarithm in fp32, truncated).
GENRT_HOST_DEVICE inline int64_t relative_position_bucket(int64_t relative, int64_t num_buckets, int64_t max_distance,
                                                          bool bidirectional) {
  int64_t bucket = 0;
  if (bidirectional) {
    num_buckets /= 2;
    if (relative > 0) bucket += num_buckets;
    relative = relative < 0 ? -relative : relative;
  } else {
    relative = relative < 0 ? -relative : 0;
  }
  const int64_t max_exact = num_buckets / 2;
  if (relative < max_exact) return bucket + relative;
  const float scale = static_cast<float>(std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)));
  const float steps = logf(static_cast<float>(relative) / static_cast<float>(max_exact)) / scale *
                      static_cast<float>(num_buckets - max_exact);
  const int64_t large = max_exact + static_cast<int64_t>(steps);
  return bucket + (large < num_buckets - 1 ? large : num_buckets - 1);
}

// The bias of head `head` for a key `relative` positions from its query.
GENRT_HOST_DEVICE inline float relative_position_bias(const RelativePositionBias& b, int64_t relative, int64_t head,
                                                      int64_t n_heads) {
  return b.table[relative_position_bucket(relative, b.num_buckets, b.max_distance, b.bidirectional) * n_heads + head];
}

}  // namespace genrt::ref
