#pragma once
// T5's relative position bias: attention scores get a learned bias per head and per bucket
// of the key's position relative to the query's. Buckets are exact for small distances and
// logarithmic up to max_distance (everything further shares the last); the encoder's are
// bidirectional (half the buckets for keys after the query), the decoder's look back only.
// Host and device code alike compute buckets here.

#include <climits>
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

// What the direction decides of a bucket: bidirectional buckets give the keys after the
// query the upper half (`offset`), the decoder's keys after it distance 0; the rest of the
// bucket is read from the distance over one direction's `buckets`.
struct DirectedDistance {
  int64_t offset = 0;
  int64_t distance = 0;
  int64_t buckets = 0;
};
GENRT_HOST_DEVICE inline DirectedDistance directed_distance(int64_t relative, int64_t num_buckets, bool bidirectional) {
  if (!bidirectional) return {.offset = 0, .distance = relative < 0 ? -relative : 0, .buckets = num_buckets};
  return {.offset = relative > 0 ? num_buckets / 2 : 0,
          .distance = relative < 0 ? -relative : relative,
          .buckets = num_buckets / 2};
}

// The bucket of `relative` = key position - query position, as transformers'
// T5Attention._relative_position_bucket computes it (its logarithm in fp32, truncated).
GENRT_HOST_DEVICE inline int64_t relative_position_bucket(int64_t relative, int64_t num_buckets, int64_t max_distance,
                                                          bool bidirectional) {
  const auto [bucket, distance, buckets] = directed_distance(relative, num_buckets, bidirectional);
  const int64_t max_exact = buckets / 2;
  if (distance < max_exact) return bucket + distance;
  const float scale = static_cast<float>(std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)));
  const float steps = logf(static_cast<float>(distance) / static_cast<float>(max_exact)) / scale *
                      static_cast<float>(buckets - max_exact);
  const int64_t large = max_exact + static_cast<int64_t>(steps);
  return bucket + (large < buckets - 1 ? large : buckets - 1);
}

// The logarithmic buckets of one direction by the first distance each holds, so that device
// code buckets exactly as relative_position_bucket does on the host with no logarithm of its
// own: a device logf one ulp low would move the boundaries that fall on powers of two (16,
// 32 and 64 for T5's 32 buckets up to 128, where the fp32 quotient is exactly 2, 4 and 6).
inline constexpr int kMaxLogBuckets = 64;
struct RelativeBucketStarts {
  int32_t start[kMaxLogBuckets] = {};  // start[j]: the first distance in bucket max_exact + j
  int32_t count = 0;                   // a direction's log buckets: its buckets less max_exact
};

// From relative_position_bucket (host code); at most kMaxLogBuckets log buckets a direction.
inline RelativeBucketStarts relative_bucket_starts(int64_t num_buckets, int64_t max_distance, bool bidirectional) {
  RelativeBucketStarts s;
  const int64_t per_direction = bidirectional ? num_buckets / 2 : num_buckets, max_exact = per_direction / 2;
  s.count = static_cast<int32_t>(per_direction - max_exact);
  if (s.count > kMaxLogBuckets) return {};
  for (int j = 0; j < s.count; ++j) s.start[j] = INT32_MAX;
  // A key d positions before its query: a direction both kinds bucket. Every distance from
  // max_distance on is in the last bucket, which max_distance itself reaches.
  for (int64_t d = max_distance; d >= max_exact; --d) {
    s.start[relative_position_bucket(-d, num_buckets, max_distance, bidirectional) - max_exact] = static_cast<int32_t>(d);
  }
  // A bucket no distance falls in starts where the next one does.
  for (int j = s.count - 2; j >= 0; --j) {
    if (s.start[j] == INT32_MAX) s.start[j] = s.start[j + 1];
  }
  return s;
}

// relative_position_bucket from the starts of its log buckets.
GENRT_HOST_DEVICE inline int64_t bucket_from_starts(int64_t relative, int64_t num_buckets, bool bidirectional,
                                                    const RelativeBucketStarts& starts) {
  const auto [bucket, distance, buckets] = directed_distance(relative, num_buckets, bidirectional);
  const int64_t max_exact = buckets / 2;
  if (distance < max_exact) return bucket + distance;
  int64_t j = 0;
  while (j + 1 < starts.count && distance >= starts.start[j + 1]) ++j;
  return bucket + max_exact + j;
}

// The bias of head `head` for a key `relative` positions from its query.
GENRT_HOST_DEVICE inline float relative_position_bias(const RelativePositionBias& b, int64_t relative, int64_t head,
                                                      int64_t n_heads) {
  return b.table[relative_position_bucket(relative, b.num_buckets, b.max_distance, b.bidirectional) * n_heads + head];
}

}  // namespace genrt::ref
