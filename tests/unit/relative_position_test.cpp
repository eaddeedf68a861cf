// T5's relative position bias: the buckets against transformers', and the attention ops
// adding the bias (dense within a sequence, as the encoder; paged and causal, as the
// decoder) against the softmax of the bias alone.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ref/relative_position.h"
#include "runtime/backend/ops.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

// transformers' T5Attention._relative_position_bucket of relative positions -30..30.
TEST(RelativePosition, BucketsAreTransformers) {
  struct Case {
    bool bidirectional;
    int64_t buckets, max_distance;
    std::vector<int64_t> expected;
  };
  const std::vector<Case> cases = {
      {true, 8, 20, {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 1, 0,
                     5, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}},
      {true, 32, 128, {11, 11, 11, 11, 11, 11, 11, 11, 10, 10, 10, 10, 10, 10, 10, 9, 9, 9, 9, 8, 8, 8, 8, 7, 6, 5,
                       4, 3, 2, 1, 0, 17, 18, 19, 20, 21, 22, 23, 24, 24, 24, 24, 25, 25, 25, 25, 26, 26, 26, 26,
                       26, 26, 26, 27, 27, 27, 27, 27, 27, 27, 27}},
      {false, 8, 20, {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 5, 5, 5, 4, 4, 3, 2, 1, 0,
                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
      {false, 32, 128, {20, 20, 20, 20, 19, 19, 19, 18, 18, 18, 17, 17, 16, 16, 16, 15, 14, 13, 12, 11, 10, 9, 8,
                        7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        0, 0, 0, 0, 0, 0, 0, 0}},
      {false, 4, 3, {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 1, 0,
                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
  };
  for (const Case& c : cases) {
    std::vector<int64_t> got;
    for (int64_t r = -30; r <= 30; ++r) got.push_back(ref::relative_position_bucket(r, c.buckets, c.max_distance, c.bidirectional));
    EXPECT_EQ(got, c.expected) << c.bidirectional << " " << c.buckets << " " << c.max_distance;
  }
}

// The GPU kernels bucket from the starts of the log buckets, computed on the host by the
// reference: equal to the reference at every distance, past max_distance included, for
// T5's shapes, odd ones and configurations whose buckets outnumber their distances.
TEST(RelativePosition, BucketsFromStartsAreTheReference) {
  for (const bool bidirectional : {true, false}) {
    for (const auto& [buckets, max_distance] : std::vector<std::pair<int64_t, int64_t>>{
             {32, 128}, {8, 20}, {4, 3}, {64, 256}, {7, 100}, {32, 17}, {128, 70}}) {
      const ref::RelativeBucketStarts starts = ref::relative_bucket_starts(buckets, max_distance, bidirectional);
      ASSERT_GT(starts.count, 0);
      for (int64_t r = -3 * max_distance; r <= 3 * max_distance; ++r) {
        ASSERT_EQ(ref::bucket_from_starts(r, buckets, bidirectional, starts),
                  ref::relative_position_bucket(r, buckets, max_distance, bidirectional))
            << "relative " << r << ", " << buckets << " buckets up to " << max_distance
            << (bidirectional ? ", bidirectional" : "");
      }
    }
  }
  EXPECT_EQ(ref::relative_bucket_starts(512, 1000, false).count, 0);  // over kMaxLogBuckets: refused
}

// A bias table [buckets, heads] whose entry (b, h) is b + 10 h, so every score says its bucket.
Tensor bucket_table(int64_t buckets, int64_t heads) {
  Tensor t = Tensor::zeros({buckets, heads}, DType::f32);
  for (int64_t b = 0; b < buckets; ++b) {
    for (int64_t h = 0; h < heads; ++h) t.data<float>()[b * heads + h] = 0.1f * static_cast<float>(b + 10 * h);
  }
  return t;
}

// Σ softmax(bias) v over the keys `keys`, bias of (key - query) in head h: what attention
// with zero queries gives.
float expected_output(const Tensor& table, int64_t heads, bool bidirectional, int64_t query, std::vector<int64_t> keys,
                      int64_t h, const std::vector<float>& values) {
  std::vector<float> w;
  float total = 0;
  for (int64_t k : keys) {
    const int64_t bucket = ref::relative_position_bucket(k - query, table.dim(0), 20, bidirectional);
    w.push_back(std::exp(table.data<float>()[bucket * heads + h]));
    total += w.back();
  }
  float out = 0;
  for (size_t i = 0; i < keys.size(); ++i) out += w[i] / total * values[static_cast<size_t>(keys[i])];
  return out;
}

TEST(RelativePosition, DenseAttentionAddsTheBidirectionalBias) {
  const int64_t tokens = 5, heads = 2;
  Tensor q = Tensor::zeros({1, tokens, heads, 1}, DType::f32), k = Tensor::zeros({1, tokens, heads, 1}, DType::f32);
  Tensor v = Tensor::zeros({1, tokens, heads, 1}, DType::f32), out = Tensor::zeros({1, tokens, heads, 1}, DType::f32);
  std::vector<float> values;
  for (int64_t t = 0; t < tokens; ++t) {
    values.push_back(static_cast<float>(t * t));
    for (int64_t h = 0; h < heads; ++h) v.data<float>()[t * heads + h] = values.back();
  }
  const Tensor table = bucket_table(8, heads);
  ops::dense_attention(q, k, v, 1.0f, out, {.table = table, .num_buckets = 8, .max_distance = 20, .bidirectional = true});
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      EXPECT_NEAR(out.data<float>()[t * heads + h], expected_output(table, heads, true, t, {0, 1, 2, 3, 4}, h, values), 1e-5)
          << t << " " << h;
    }
  }
}

TEST(RelativePosition, PagedAttentionAddsTheCausalBias) {
  // One sequence of 4 tokens in one block of 4 (cache slot = position), 2 heads, head_dim 1.
  const int64_t tokens = 4, heads = 2;
  Tensor q = Tensor::zeros({tokens, heads, 1}, DType::f32), out = Tensor::zeros({tokens, heads, 1}, DType::f32);
  Tensor keys = Tensor::zeros({1, tokens, heads, 1}, DType::f32), values = Tensor::zeros({1, tokens, heads, 1}, DType::f32);
  std::vector<float> v;
  for (int64_t t = 0; t < tokens; ++t) {
    v.push_back(static_cast<float>(1 + 3 * t));
    for (int64_t h = 0; h < heads; ++h) values.data<float>()[t * heads + h] = v.back();
  }
  PagedBatch batch{.positions = Tensor::zeros({tokens}, DType::i32),
                   .slots = Tensor::zeros({tokens}, DType::i32),
                   .query_start = Tensor::zeros({2}, DType::i32),
                   .context_lens = Tensor::zeros({1}, DType::i32),
                   .block_tables = Tensor::zeros({1, 1}, DType::i32),
                   .block_size = tokens};
  batch.query_start.data<int32_t>()[1] = tokens;
  batch.context_lens.data<int32_t>()[0] = tokens;
  const Tensor table = bucket_table(8, heads);
  ops::paged_attention(q, keys, values, batch, 1.0f, 0, out, {.table = table, .num_buckets = 8, .max_distance = 20});
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<int64_t> attended;
    for (int64_t p = 0; p <= t; ++p) attended.push_back(p);
    for (int64_t h = 0; h < heads; ++h) {
      EXPECT_NEAR(out.data<float>()[t * heads + h], expected_output(table, heads, false, t, attended, h, v), 1e-5);
    }
  }
  EXPECT_ERROR(ops::paged_attention(q, keys, values, batch, 1.0f, 0, out, {.table = bucket_table(8, 3), .num_buckets = 8, .max_distance = 20}),
               "paged_attention: bias table has shape [8, 3], expected [8, 2]");
  EXPECT_ERROR(ops::paged_attention(q, keys, values, batch, 1.0f, 0, out, {.table = bucket_table(2, 2), .num_buckets = 2, .max_distance = 20}),
               "relative position bias of 2 buckets up to distance 20: at least 4 buckets");
}

}  // namespace
}  // namespace genrt
