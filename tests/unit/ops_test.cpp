// The op entries' checks: each bad tensor gives an error naming the op and the operand.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/limits.h"
#include "runtime/backend/gpu_limits.h"
#include "runtime/backend/image_ops.h"
#include "runtime/backend/ops.h"
#include "runtime/memory/kv_cache.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

TEST(Ops, EmbeddingRejectsIdsOutsideTheVocabulary) {
  Tensor table = Tensor::zeros({4, 2}, DType::f32);
  Tensor ids = Tensor::zeros({2}, DType::i32);
  ids.data<int32_t>()[1] = 4;
  Tensor out = Tensor::zeros({2, 2}, DType::f32);
  EXPECT_ERROR(ops::embedding(table, ids, out), "token id 4 is outside the vocabulary [0, 4)");
  ids.data<int32_t>()[1] = -1;
  EXPECT_ERROR(ops::embedding(table, ids, out), "token id -1");
}

TEST(Ops, LinearShapeMismatchNamesBothShapes) {
  Tensor x = Tensor::zeros({2, 3}, DType::f32);
  Tensor w = Tensor::zeros({5, 4}, DType::f32);
  Tensor out = Tensor::zeros({2, 5}, DType::f32);
  EXPECT_ERROR(ops::linear(x, w, Tensor(), out), "linear: x [2, 3] does not match weight [5, 4]");
  Tensor w_ok = Tensor::zeros({5, 3}, DType::f32);
  Tensor bad_out = Tensor::zeros({2, 4}, DType::f32);
  EXPECT_ERROR(ops::linear(x, w_ok, Tensor(), bad_out), "linear: out has shape [2, 4], expected [2, 5]");
  Tensor bad_bias = Tensor::zeros({4}, DType::f32);
  EXPECT_ERROR(ops::linear(x, w_ok, bad_bias, out), "linear: bias has shape [4], expected [5]");
}

// A fused layer's parts into outputs of their own: each part is the linear layer of its
// weight and bias rows, exactly (the same reference GEMM on each).
TEST(Ops, LinearPartsAreEachPartsLinearLayer) {
  const int64_t parts = 3, m = 5, n = 4, k = 7;
  Tensor x = Tensor::zeros({m, k}, DType::f32), w = Tensor::zeros({parts * n, k}, DType::f32);
  Tensor bias = Tensor::zeros({parts * n}, DType::f32);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::sin(0.3f * static_cast<float>(i));
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = std::cos(0.7f * static_cast<float>(i));
  for (int64_t i = 0; i < bias.numel(); ++i) bias.data<float>()[i] = 0.1f * static_cast<float>(i);
  for (const bool with_bias : {false, true}) {
    Tensor out = Tensor::zeros({parts, m, n}, DType::f32);
    ops::linear_parts(x, w, with_bias ? bias : Tensor(), out);
    for (int64_t p = 0; p < parts; ++p) {
      Tensor want = Tensor::zeros({m, n}, DType::f32);
      ops::linear(x, w.slice(p * n, (p + 1) * n), with_bias ? bias.slice(p * n, (p + 1) * n) : Tensor(), want);
      EXPECT_EQ(std::memcmp(out.select(p).raw(), want.raw(), want.nbytes()), 0) << "part " << p << " bias " << with_bias;
    }
  }
  Tensor out = Tensor::zeros({parts, m, n}, DType::f32);
  EXPECT_ERROR(ops::linear_parts(x, w.slice(0, 8), Tensor(), out), "linear_parts: weight [8, 7] is not 3 parts of 4 rows");
  EXPECT_ERROR(ops::linear_parts(x, w, bias.slice(0, 4), out), "linear_parts: bias has shape [4], expected [12]");
  Tensor flat = Tensor::zeros({parts * m * n}, DType::f32);
  EXPECT_ERROR(ops::linear_parts(x, w, Tensor(), flat), "linear_parts: x [5, 7], weight [12, 7] and out [60] must be");
  Tensor short_out = Tensor::zeros({parts, m - 1, n}, DType::f32);
  EXPECT_ERROR(ops::linear_parts(x, w, Tensor(), short_out), "linear_parts: out has shape [3, 4, 4], expected [3, 5, 4]");
}

TEST(Ops, WrongDtypeAndNonContiguous) {
  Tensor x = Tensor::zeros({2, 4}, DType::bf16);
  Tensor w = Tensor::zeros({4}, DType::f32);
  Tensor out = Tensor::zeros({2, 4}, DType::f32);
  EXPECT_ERROR(ops::rmsnorm(x, w, 1e-5f, out), "rmsnorm: x is bf16, expected f32");
  Tensor wide = Tensor::zeros({4, 4}, DType::f32);
  Tensor rope_x = Tensor::zeros({1, 1, 3}, DType::f32);
  Tensor pos = Tensor::zeros({1}, DType::i32);
  Tensor freq = Tensor::zeros({1}, DType::f32);
  EXPECT_ERROR(ops::rope(rope_x, pos, freq, ref::RopeLayout::rotate_half), "head_dim 3 must be even");
}

TEST(Ops, AddRmsNormUpdatesTheResidual) {
  Tensor x = Tensor::zeros({1, 2}, DType::f32);
  Tensor residual = Tensor::zeros({1, 2}, DType::f32);
  Tensor w = Tensor::zeros({2}, DType::f32);
  Tensor out = Tensor::zeros({1, 2}, DType::f32);
  x.data<float>()[0] = 1;
  residual.data<float>()[1] = 1;
  w.data<float>()[0] = w.data<float>()[1] = 1;
  ops::add_rmsnorm(x, residual, w, 0.0f, out);
  EXPECT_EQ(residual.data<float>()[0], 1.0f);
  EXPECT_EQ(residual.data<float>()[1], 1.0f);
  EXPECT_FLOAT_EQ(out.data<float>()[0], 1.0f);
}

// One sequence of `tokens` new tokens ending at `context`, in blocks `table`.
PagedBatch one_sequence(int64_t tokens, int64_t context, std::vector<int32_t> table, int64_t block_size) {
  PagedBatch b{.positions = Tensor::zeros({tokens}, DType::i32),
               .slots = Tensor::zeros({tokens}, DType::i32),
               .query_start = Tensor::zeros({2}, DType::i32),
               .context_lens = Tensor::zeros({1}, DType::i32),
               .block_tables = Tensor::zeros({1, static_cast<int64_t>(table.size())}, DType::i32),
               .block_size = block_size};
  b.query_start.data<int32_t>()[1] = static_cast<int32_t>(tokens);
  b.context_lens.data<int32_t>()[0] = static_cast<int32_t>(context);
  std::copy(table.begin(), table.end(), b.block_tables.data<int32_t>());
  return b;
}

TEST(Ops, PagedAttentionChecksGqaAndBlockTable) {
  Tensor q = Tensor::zeros({1, 3, 4}, DType::f32);
  Tensor cache = Tensor::zeros({2, 4, 2, 4}, DType::f32);
  Tensor out = Tensor::zeros({1, 3, 4}, DType::f32);
  EXPECT_ERROR(ops::paged_attention(q, cache, cache, one_sequence(1, 1, {0}, 4), 1.0f, 0, out),
               "3 query heads are not a multiple of 2 KV heads");
  Tensor q4 = Tensor::zeros({1, 4, 4}, DType::f32);
  Tensor out4 = Tensor::zeros({1, 4, 4}, DType::f32);
  EXPECT_ERROR(ops::paged_attention(q4, cache, cache, one_sequence(1, 5, {0}, 4), 1.0f, 0, out4),
               "positions up to 5 are not covered by the 1 blocks");
  EXPECT_ERROR(ops::paged_attention(q4, cache, cache, one_sequence(1, 1, {2}, 4), 1.0f, 0, out4),
               "block id 2 outside the pool of 2");
  EXPECT_ERROR(ops::paged_attention(q4, cache, cache, one_sequence(1, 1, {0}, 8), 1.0f, 0, out4),
               "batch block size 8 != cache block size 4");
  PagedBatch bad_slot = one_sequence(1, 1, {0}, 4);
  bad_slot.slots.data<int32_t>()[0] = 8;
  Tensor qkv = Tensor::zeros({1, (4 + 2 * 2) * 4}, DType::f32);
  EXPECT_ERROR(ops::qkv_cache_write(qkv, bad_slot, Tensor(), ref::RopeLayout::rotate_half, q4, cache, cache),
               "cache slot 8 outside the pool of 8");
}

TEST(Ops, PagedAttentionChecksTheLeadingDecodes) {
  Tensor q = Tensor::zeros({3, 2, 4}, DType::f32), out = Tensor::zeros({3, 2, 4}, DType::f32);
  Tensor cache = Tensor::zeros({2, 4, 2, 4}, DType::f32);
  PagedBatch batch = one_sequence(3, 3, {0}, 4);  // a 3-token chunk
  batch.leading_decodes = 1;
  EXPECT_ERROR(ops::paged_attention(q, cache, cache, batch, 1.0f, 0, out),
               "paged_attention: the first 1 sequences are not one-token decodes");
  batch.leading_decodes = 2;
  EXPECT_ERROR(ops::paged_attention(q, cache, cache, batch, 1.0f, 0, out),
               "paged_attention: 2 leading decodes in a batch of 1 sequences and 3 tokens");
  batch.leading_decodes = 0;
  ops::paged_attention(q, cache, cache, batch, 1.0f, 0, out);
}

TEST(Ops, PagedAttentionWindowSkipsReleasedBlocks) {
  // One new token at position 8 (block_size 4) whose first block went back to the pool.
  Tensor q = Tensor::zeros({1, 2, 4}, DType::f32), out = Tensor::zeros({1, 2, 4}, DType::f32);
  Tensor cache = Tensor::zeros({2, 4, 2, 4}, DType::f32);
  const PagedBatch batch = one_sequence(1, 9, {kReleasedBlock, 0, 1}, 4);
  EXPECT_ERROR(ops::paged_attention(q, cache, cache, batch, 1.0f, 0, out), "block id -1 outside the pool of 2");
  EXPECT_ERROR(ops::paged_attention(q, cache, cache, batch, 1.0f, 6, out), "block id -1 outside the pool of 2");
  ops::paged_attention(q, cache, cache, batch, 1.0f, 5, out);  // positions 4..8
  EXPECT_ERROR(ops::paged_attention(q, cache, cache, batch, 1.0f, -1, out),
               "paged_attention: sliding window -1 must be >= 0 (0: no window)");
  Tensor qkv = Tensor::zeros({1, (2 + 2 * 2) * 4}, DType::f32);
  ops::qkv_cache_write(qkv, batch, Tensor(), ref::RopeLayout::rotate_half, q, cache, cache);  // a write reads no block table entry
}

// The CUDA kernels' shape limits, checked by the op entries before a launch: pure functions
// of the shape, run here without a device (tests/gpu asserts the same through the entries).
TEST(Ops, PagedAttentionOnTheGpuNamesItsHeadDimLimit) {
  EXPECT_ERROR(ops::expect_gpu_attention_shape("paged_attention", 8, 544),
               "paged_attention on the GPU supports head_dim from 1 to 512, got 544");
  EXPECT_ERROR(ops::expect_gpu_attention_shape("paged_attention", 8, 0), "head_dim from 1 to 512, got 0");
  EXPECT_ERROR(ops::expect_gpu_attention_shape("paged_attention", kernels::kMaxWarpAttentionHeads + 1, 64),
               "paged_attention on the GPU supports 1 to 262140 query heads, got 262141");
  for (int64_t head_dim : {1, 64, 72, 80, 100, 256, 512}) {
    EXPECT_NO_THROW(ops::expect_gpu_attention_shape("paged_attention", 32, head_dim)) << head_dim;
  }
}

TEST(Ops, DenseAttentionOnTheGpuNamesItsHeadDimLimit) {
  EXPECT_ERROR(ops::expect_gpu_attention_shape("dense_attention", 16, 513),
               "dense_attention on the GPU supports head_dim from 1 to 512, got 513");
  EXPECT_NO_THROW(ops::expect_gpu_attention_shape("dense_attention", 1, 512));  // SD's VAE
  EXPECT_NO_THROW(ops::expect_gpu_attention_shape("dense_attention", 16, 72));
}

TEST(Ops, Conv2dNamesAKernelThatDoesNotFit) {
  const Tensor x = Tensor::zeros({1, 2, 2, 1}, DType::f32), w = Tensor::zeros({1, 5, 5, 1}, DType::f32);
  Tensor out = Tensor::zeros({1, 1, 1, 1}, DType::f32);
  // (2 + 2 - 5) / 2 + 1 would round to one output row.
  EXPECT_ERROR(ops::conv2d(x, w, Tensor(), {.stride = 2, .padding = 1}, out),
               "a 5x5 kernel does not fit x [1, 2, 2, 1] with padding 1");
  Tensor downsampled = Tensor::zeros({1, 2, 2, 1}, DType::f32);
  const Tensor x4 = Tensor::zeros({1, 4, 4, 1}, DType::f32), w3 = Tensor::zeros({1, 3, 3, 1}, DType::f32);
  ops::conv2d(x4, w3, Tensor(), {.stride = 2, .padding = 0, .extra_padding_end = 1}, downsampled);
  EXPECT_ERROR(ops::conv2d(x4, w3, Tensor(), {.stride = 2, .padding = 0, .extra_padding_end = -1}, downsampled),
               "extra end padding -1 non-negative");
}

TEST(Ops, DenseAttentionTakesKeysOfAnotherLength) {
  // Cross-attention: 2 queries over 3 keys, each key with its own value; one head.
  Tensor q = Tensor::zeros({1, 2, 1, 2}, DType::f32), k = Tensor::zeros({1, 3, 1, 2}, DType::f32);
  Tensor v = Tensor::zeros({1, 3, 1, 2}, DType::f32), out = Tensor::zeros({1, 2, 1, 2}, DType::f32);
  for (int i = 0; i < 6; ++i) v.data<float>()[i] = static_cast<float>(i);
  ops::dense_attention(q, k, v, 1.0f, out);  // equal scores: the mean of the values
  EXPECT_EQ(std::vector<float>(out.data<float>(), out.data<float>() + 4), (std::vector<float>{2, 3, 2, 3}));
  Tensor short_v = Tensor::zeros({1, 2, 1, 2}, DType::f32);
  EXPECT_ERROR(ops::dense_attention(q, k, short_v, 1.0f, out), "dense_attention: v has shape [1, 2, 1, 2], expected [1, 3, 1, 2]");
}

TEST(Ops, NormsOnTheGpuNameTheirRowWidthLimit) {
  EXPECT_ERROR(ops::expect_gpu_norm_dim("add_rmsnorm", 8200),
               "add_rmsnorm on the GPU supports rows of up to 8192 values, got 8200");
  EXPECT_NO_THROW(ops::expect_gpu_norm_dim("modulated_layernorm", 8192));
}

// The fused rotation takes pairs of features on every device; the plain cache write does not.
TEST(Ops, QkvCacheWriteNeedsAnEvenHeadDimOnlyToRotate) {
  Tensor qkv = Tensor::zeros({1, (2 + 2 * 2) * 5}, DType::f32), q = Tensor::zeros({1, 2, 5}, DType::f32);
  Tensor cache = Tensor::zeros({1, 4, 2, 5}, DType::f32), inv_freq = Tensor::zeros({2}, DType::f32);
  EXPECT_ERROR(ops::qkv_cache_write(qkv, one_sequence(1, 1, {0}, 4), inv_freq, ref::RopeLayout::rotate_half, q,
                                    cache, cache),
               "qkv_cache_write: head_dim 5 must be even");
  EXPECT_NO_THROW(
      ops::qkv_cache_write(qkv, one_sequence(1, 1, {0}, 4), Tensor(), ref::RopeLayout::rotate_half, q, cache, cache));
  Tensor narrow = Tensor::zeros({1, 2 * 2 * 5}, DType::f32);
  EXPECT_ERROR(ops::qkv_cache_write(narrow, one_sequence(1, 1, {0}, 4), Tensor(), ref::RopeLayout::rotate_half, q,
                                    cache, cache),
               "qkv_cache_write: qkv has shape [1, 20], expected [1, 30]");
}

// The split of a fused projection's rows: queries (rotated) to q, keys (rotated) and
// values to their slots, against the rope reference on the separate parts.
TEST(Ops, QkvCacheWriteSplitsRotatesAndWritesTheFusedRows) {
  const int64_t tokens = 2, heads = 2, kv_heads = 1, head_dim = 4, q_row = heads * head_dim, kv_row = kv_heads * head_dim;
  const int64_t row = q_row + 2 * kv_row;
  Tensor qkv = Tensor::zeros({tokens, row}, DType::f32);
  for (int64_t i = 0; i < qkv.numel(); ++i) qkv.data<float>()[i] = static_cast<float>(i % 7) - 3.0f;
  Tensor inv_freq = Tensor::zeros({head_dim / 2}, DType::f32);
  inv_freq.data<float>()[0] = 1.0f;
  inv_freq.data<float>()[1] = 0.1f;
  PagedBatch batch = one_sequence(tokens, 7, {1, 0}, 4);  // positions 5, 6: block 0, slots 1 and 2
  batch.positions.data<int32_t>()[0] = 5;
  batch.positions.data<int32_t>()[1] = 6;
  batch.slots.data<int32_t>()[0] = 1;
  batch.slots.data<int32_t>()[1] = 2;
  Tensor q = Tensor::zeros({tokens, heads, head_dim}, DType::f32);
  Tensor k_cache = Tensor::zeros({2, 4, kv_heads, head_dim}, DType::f32), v_cache = Tensor::zeros(k_cache.shape(), DType::f32);
  ops::qkv_cache_write(qkv, batch, inv_freq, ref::RopeLayout::rotate_half, q, k_cache, v_cache);

  std::vector<float> want_q, want_k;
  for (int64_t t = 0; t < tokens; ++t) {
    const float* r = qkv.data<float>() + t * row;
    want_q.insert(want_q.end(), r, r + q_row);
    want_k.insert(want_k.end(), r + q_row, r + q_row + kv_row);
  }
  const int32_t* positions = batch.positions.data<int32_t>();
  ref::rope(want_q.data(), positions, inv_freq.data<float>(), tokens, heads, head_dim, ref::RopeLayout::rotate_half);
  ref::rope(want_k.data(), positions, inv_freq.data<float>(), tokens, kv_heads, head_dim, ref::RopeLayout::rotate_half);
  EXPECT_EQ(std::vector<float>(q.data<float>(), q.data<float>() + q.numel()), want_q);
  for (int64_t t = 0; t < tokens; ++t) {
    const int64_t slot = batch.slots.data<int32_t>()[t];
    const float* r = qkv.data<float>() + t * row;
    for (int64_t j = 0; j < kv_row; ++j) {
      EXPECT_EQ(k_cache.data<float>()[slot * kv_row + j], want_k[t * kv_row + j]) << t << " " << j;
      EXPECT_EQ(v_cache.data<float>()[slot * kv_row + j], r[q_row + kv_row + j]) << t << " " << j;
    }
  }
  EXPECT_EQ(k_cache.data<float>()[0], 0.0f);  // slot 0 untouched
}

TEST(Ops, TakeSampledIdsFillsOnlyTheTokensThatSaySo) {
  Tensor sampled = Tensor::zeros({3}, DType::i32), from = Tensor::zeros({4}, DType::i32);
  Tensor ids = Tensor::zeros({4}, DType::i32);
  const int32_t sampled_ids[3] = {70, 71, 72}, sources[4] = {-1, 2, 0, -1}, own[4] = {5, 0, 0, 8};
  std::copy(sampled_ids, sampled_ids + 3, sampled.data<int32_t>());
  std::copy(sources, sources + 4, from.data<int32_t>());
  std::copy(own, own + 4, ids.data<int32_t>());
  ops::take_sampled_ids(sampled, from, ids);
  EXPECT_EQ(std::vector<int32_t>(ids.data<int32_t>(), ids.data<int32_t>() + 4), (std::vector<int32_t>{5, 72, 70, 8}));
  from.data<int32_t>()[1] = 3;
  EXPECT_ERROR(ops::take_sampled_ids(sampled, from, ids), "take_sampled_ids: row 3 outside the 3 sampled ids");
  Tensor short_from = Tensor::zeros({2}, DType::i32);
  EXPECT_ERROR(ops::take_sampled_ids(sampled, short_from, ids), "take_sampled_ids: from has shape [2], expected [4]");
}

TEST(Ops, SwigluReadsTheGateAndUpHalvesOfOneFusedRow) {
  Tensor gate_up = Tensor::zeros({2, 4}, DType::f32), out = Tensor::zeros({2, 2}, DType::f32);
  const float values[8] = {1, -1, 3, 5, 0, 2, 7, -2};  // rows: gate (1, -1) up (3, 5); gate (0, 2) up (7, -2)
  std::copy(values, values + 8, gate_up.data<float>());
  ops::swiglu(gate_up, out);
  const auto silu = [](float x) { return x / (1 + std::exp(-x)); };
  EXPECT_FLOAT_EQ(out.data<float>()[0], silu(1) * 3);
  EXPECT_FLOAT_EQ(out.data<float>()[1], silu(-1) * 5);
  EXPECT_FLOAT_EQ(out.data<float>()[2], 0.0f);
  EXPECT_FLOAT_EQ(out.data<float>()[3], silu(2) * -2);
  Tensor wide = Tensor::zeros({2, 4}, DType::f32);
  EXPECT_ERROR(ops::swiglu(gate_up, wide), "swiglu: out has shape [2, 4], expected [2, 2]");
  Tensor odd = Tensor::zeros({2, 3}, DType::f32);
  EXPECT_ERROR(ops::swiglu(odd, out), "swiglu: gate_up must be [rows, 2 * cols], got [2, 3]");
  Tensor halves = gate_up.reshape({4, 2}).slice(0, 2);  // the same memory as out would be
  EXPECT_ERROR(ops::swiglu(gate_up, halves), "swiglu: out must not overlap gate_up");
}

TEST(Ops, MixedDevicesAreAClearError) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "needs a CUDA device to make a cuda tensor: " << cuda_unavailable_reason();
  Tensor x = Tensor::zeros({1, 2}, DType::bf16, Device::cuda);
  Tensor w = Tensor::zeros({2}, DType::f32);
  Tensor out = Tensor::zeros({1, 2}, DType::bf16, Device::cuda);
  EXPECT_ERROR(ops::rmsnorm(x, w, 1e-5f, out), "rmsnorm: weight is f32 on cpu, expected bf16 on cuda");
}

}  // namespace
}  // namespace genrt
