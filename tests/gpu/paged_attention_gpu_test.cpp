// Paged causal attention on the GPU against the CPU reference run per sequence, through
// every kernel the launcher picks: the tensor-core query tiles (fp16, bf16; mixed batches,
// whole prompts, chunks over a cached prefix), the split-KV decode (a few new tokens per
// sequence, with and without a split workspace) and the warp kernel (fp32). Lengths 1, 17,
// 127, 1000 and 4097, head dims 64 to 256, GQA 1 to 71, pages of 16 and 32, blocks
// shuffled in the pool, sliding windows whose released blocks hold NaN (any read of them
// fails). Skips without a device.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/attention_kernels.h"
#include "kernels/paged_attention.cuh"
#include "kernels/ref/attention.h"
#include "runtime/backend/cuda/storage_type.h"
#include "runtime/backend/ops.h"
#include "tests/gpu/attention_kernel_passes.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

struct Sequence {
  int64_t n_new;
  int64_t context;  // positions cached after the step, the new ones included
};

struct PagedCase {
  DType dtype;
  int64_t head_dim, q_heads, kv_heads;
  std::vector<Sequence> seqs;
  int64_t block_size = 16;
  // false: the launcher is told neither the longest query nor the leading decodes, so it
  // cannot pick the decode kernel for the batch or for its leading decodes
  bool tell_max_query_len = true;
  int64_t split_workspace_bytes = kernels::kSplitWorkspaceBytes;
  int64_t window = 0;
};

std::ostream& operator<<(std::ostream& os, const PagedCase& c) {
  os << dtype_name(c.dtype) << " d" << c.head_dim << " " << c.q_heads << "/" << c.kv_heads << " heads, pages of "
     << c.block_size << ", (new, context):";
  for (const Sequence& s : c.seqs) os << " (" << s.n_new << ", " << s.context << ")";
  return os << (c.tell_max_query_len ? "" : ", max query length untold")
            << (c.split_workspace_bytes > 0 ? "" : ", no split workspace") << ", window " << c.window;
}

class PagedAttentionGpu : public ::testing::TestWithParam<PagedCase> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }

  template <class T>
  void run(const PagedCase& c) {
    std::vector<int32_t> query_start = {0}, context_lens;
    int64_t max_blocks = 1, blocks = 0, max_query_len = 0, max_context_len = 0, leading_decodes = 0,
            leading_decodes_max_context_len = 0;
    for (const Sequence& s : c.seqs) {
      if (leading_decodes == std::ssize(query_start) - 1 && s.n_new == 1) {
        ++leading_decodes;
        leading_decodes_max_context_len = std::max(leading_decodes_max_context_len, s.context);
      }
      query_start.push_back(query_start.back() + static_cast<int32_t>(s.n_new));
      context_lens.push_back(static_cast<int32_t>(s.context));
      max_blocks = std::max(max_blocks, (s.context + c.block_size - 1) / c.block_size);
      blocks += (s.context + c.block_size - 1) / c.block_size;
      max_query_len = std::max(max_query_len, s.n_new);
      max_context_len = std::max(max_context_len, s.context);
    }
    // Blocks shuffled over a pool with one spare, so no sequence's pages are in order; the
    // last block holds NaN and stands for every block a window has given back.
    std::vector<int32_t> pool(static_cast<size_t>(blocks + 1)), tables(c.seqs.size() * max_blocks, 0);
    for (size_t b = 0; b < pool.size(); ++b) pool[b] = static_cast<int32_t>(b);
    std::shuffle(pool.begin(), pool.end(), std::mt19937(11));
    const int32_t released = static_cast<int32_t>(pool.size());
    size_t next = 0;
    for (size_t s = 0; s < c.seqs.size(); ++s) {
      const int64_t first_read = ref::first_attended_position(c.seqs[s].context - c.seqs[s].n_new, c.window);
      for (int64_t b = 0; b < (c.seqs[s].context + c.block_size - 1) / c.block_size; ++b) {
        tables[s * max_blocks + b] = (b + 1) * c.block_size <= first_read ? released : pool[next];
        ++next;
      }
    }
    const int64_t tokens = query_start.back(), kv_row = c.kv_heads * c.head_dim, q_row = c.q_heads * c.head_dim;
    const int64_t pool_slots = static_cast<int64_t>(pool.size() + 1) * c.block_size;
    const std::vector<float> q = pattern(tokens * q_row, 1.0f, 1, c.dtype);
    std::vector<float> k_cache = pattern(pool_slots * kv_row, 1.0f, 2, c.dtype);
    std::vector<float> v_cache = pattern(pool_slots * kv_row, 1.0f, 3, c.dtype);
    std::fill(k_cache.begin() + released * c.block_size * kv_row, k_cache.end(), NAN);
    std::fill(v_cache.begin() + released * c.block_size * kv_row, v_cache.end(), NAN);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    DeviceBuffer d_q(q, c.dtype), d_out(std::vector<float>(tokens * q_row, NAN), c.dtype), d_k(k_cache, c.dtype),
        d_v(v_cache, c.dtype), d_tables(tables.data(), tables.size() * 4),
        d_start(query_start.data(), query_start.size() * 4), d_lens(context_lens.data(), context_lens.size() * 4),
        d_workspace(std::vector<float>(c.split_workspace_bytes / 4, NAN), DType::f32);
    std::vector<float> expected(tokens * q_row);
    for (size_t s = 0; s < c.seqs.size(); ++s) {
      ref::attention({.q = q.data() + query_start[s] * q_row,
                      .k_cache = k_cache.data(),
                      .v_cache = v_cache.data(),
                      .block_table = tables.data() + s * max_blocks,
                      .out = expected.data() + query_start[s] * q_row,
                      .tokens = c.seqs[s].n_new,
                      .q_start = c.seqs[s].context - c.seqs[s].n_new,
                      .n_heads = c.q_heads,
                      .n_kv_heads = c.kv_heads,
                      .head_dim = c.head_dim,
                      .block_size = c.block_size,
                      .scale = scale,
                      .window = c.window});
    }
    // Outputs are convex combinations of V rows (|v| <= 1.3): fp32 accumulation, then one
    // rounding to T, and on tensor cores the probabilities rounded to T before P V.
    const double tol = c.dtype == DType::f32 ? 1e-5 : c.dtype == DType::f16 ? 2e-3 : 1e-2;
    kernels::PagedAttentionLaunch<T> launch{
        .q = d_q.get<T>(),
        .out = d_out.get<T>(),
        .k_cache = d_k.get<T>(),
        .v_cache = d_v.get<T>(),
        .block_tables = d_tables.get<int32_t>(),
        .query_start = d_start.get<int32_t>(),
        .context_lens = d_lens.get<int32_t>(),
        .seqs = static_cast<int64_t>(c.seqs.size()),
        .tokens = tokens,
        .q_heads = c.q_heads,
        .kv_heads = c.kv_heads,
        .head_dim = c.head_dim,
        .block_size = c.block_size,
        .max_blocks_per_seq = max_blocks,
        .scale = scale,
        .window = c.window,
        .max_query_len = c.tell_max_query_len ? max_query_len : 0,
        .max_context_len = max_context_len,
        .leading_decodes = c.tell_max_query_len ? leading_decodes : 0,
        .leading_decodes_max_context_len = c.tell_max_query_len ? leading_decodes_max_context_len : 0,
        .split_workspace = c.split_workspace_bytes > 0 ? d_workspace.get<void>() : nullptr,
        .split_workspace_bytes = c.split_workspace_bytes,
        .cache_blocks = static_cast<int64_t>(pool.size() + 1)};

    // Every kernel the device has for the case (attention_kernel_passes.h).
    for (const test::AttentionKernelPass& pass : test::kAttentionKernelPasses) {
      SCOPED_TRACE(pass.name);
      launch.max_compute_capability = pass.max_compute_capability;
      launch.hopper_schedule = pass.hopper_schedule;
      ASSERT_EQ(cudaMemset(d_out.get<void>(), 0xff, tokens * q_row * dtype_size(c.dtype)), cudaSuccess);  // NaN
      ASSERT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaSuccess);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      const std::vector<float> got = d_out.read();
      for (size_t i = 0; i < expected.size(); ++i) {
        ASSERT_LE(std::abs(got[i] - expected[i]), tol * (1 + std::abs(expected[i])))
            << "element " << i << " (token " << i / q_row << ", head " << i % q_row / c.head_dim << "): got "
            << got[i] << ", want " << expected[i];
      }
    }
  }
};

TEST_P(PagedAttentionGpu, MatchesReference) {
  const PagedCase& c = GetParam();
  with_storage_type(c.dtype, [&]<class T>() { run<T>(c); });
}

std::vector<PagedCase> mixed_batches() {
  // The first token of a sequence (batch of one position), a decode step at position 36,
  // and a 20-token prefill chunk at positions 13..32 (not a multiple of the block size):
  // head dims 64/80/96/128/256; 6 query heads (not a multiple of the 4 warps of the warp
  // kernel's blocks) over 6, 3 or 1 KV heads (MHA, GQA 2:1, MQA), and 8 over 2 (GQA 4:1).
  std::vector<PagedCase> cases;
  const std::vector<Sequence> mixed = {{1, 1}, {1, 37}, {20, 33}};
  for (DType dtype : {DType::bf16, DType::f16, DType::f32}) {
    for (int64_t d : {64, 80, 96, 128, 256}) {
      for (int64_t kv : {6, 3, 1}) cases.push_back({dtype, d, 6, kv, mixed});
    }
  }
  for (int64_t d : {64, 128}) cases.push_back({DType::bf16, d, 8, 2, mixed, 32, false});
  // A serving step: decodes first (the decode kernel takes them), then prefill chunks and a
  // one-token chunk among them (the prefill kernel's), at Llama 3's GQA 4:1 and Qwen2's
  // 7:1, with and without a window.
  const std::vector<Sequence> step = {{1, 100}, {1, 513}, {1, 17}, {37, 80}, {1, 64}, {5, 300}};
  for (int64_t window : {0, 100}) {
    cases.push_back({DType::bf16, 128, 32, 8, step, 16, true, kernels::kSplitWorkspaceBytes, window});
    cases.push_back({DType::f16, 64, 14, 2, step, 32, true, kernels::kSplitWorkspaceBytes, window});
  }
  cases.push_back({DType::bf16, 128, 32, 1, step});  // MQA: the decodes in 2 chunks of 16 heads
  return cases;
}
INSTANTIATE_TEST_SUITE_P(MixedBatch, PagedAttentionGpu, ::testing::ValuesIn(mixed_batches()));

std::vector<PagedCase> prompts() {
  // Whole prompts and chunks over a cached prefix, one sequence and several, long enough to
  // cross many query and key tiles.
  return {{DType::bf16, 64, 4, 1, {{4097, 4097}}, 32},
          {DType::bf16, 128, 8, 2, {{1000, 1000}}},
          {DType::f16, 80, 4, 4, {{127, 127}, {17, 17}, {1, 1}}},
          {DType::bf16, 96, 8, 1, {{100, 1000}, {64, 64}, {65, 300}}, 32},
          {DType::f16, 256, 4, 1, {{130, 227}, {3, 9}}}};
}
INSTANTIATE_TEST_SUITE_P(Prompts, PagedAttentionGpu, ::testing::ValuesIn(prompts()));

std::vector<PagedCase> decodes() {
  // One new token per sequence (and a few, for speculative steps), contexts 1 to 4097; split
  // over the keys (a workspace given) and unsplit (none).
  std::vector<PagedCase> cases;
  const std::vector<Sequence> one = {{1, 1000}}, batch = {{1, 127}, {1, 1}, {1, 4097}, {1, 64}, {1, 17}};
  for (int64_t d : {64, 80, 96, 128, 256}) {
    cases.push_back({DType::bf16, d, 32, 8, one});
    cases.push_back({DType::f16, d, 8, 1, batch, 32});
  }
  cases.push_back({DType::bf16, 128, 8, 8, batch, 16, true, 0});
  cases.push_back({DType::bf16, 128, 32, 8, {{1, 1}}});
  cases.push_back({DType::bf16, 128, 16, 4, {{4, 200}, {2, 33}, {1, 5}}});  // 4 tokens x 4 heads: one tile
  cases.push_back({DType::f16, 64, 16, 1, {{1, 4097}}, 32});                // 16 heads of one group
  // Groups past a tile's 16 rows, in chunks of heads (decode_heads): MQA's 32 (2 of 16),
  // Falcon-7B's 71 (4 of 15, one of 11), 4 tokens of 8 heads (2 of 4), 3 tokens of 7 (4
  // and 3) in a window, and 16 tokens of one head.
  cases.push_back({DType::bf16, 64, 32, 1, {{1, 1000}, {1, 17}}});
  cases.push_back({DType::f16, 64, 71, 1, {{1, 4097}, {1, 33}}, 32});
  cases.push_back({DType::bf16, 128, 32, 4, {{4, 200}, {2, 33}, {1, 5}}});
  cases.push_back({DType::bf16, 80, 14, 2, {{3, 90}, {1, 2000}}, 16, true, kernels::kSplitWorkspaceBytes, 65});
  cases.push_back({DType::f16, 96, 4, 4, {{16, 300}, {5, 5}}, 32});
  return cases;
}
INSTANTIATE_TEST_SUITE_P(Decode, PagedAttentionGpu, ::testing::ValuesIn(decodes()));

std::vector<PagedCase> windows() {
  // Sliding windows over the mixed batch: 1 (each query sees only itself), 5 (the decode
  // step's window starts exactly at its block 2, blocks 0 and 1 released), 16 and 17
  // (starting mid-block) and 40 (wider than every context); then long prompts and decodes
  // whose windows skip whole key tiles and splits.
  std::vector<PagedCase> cases;
  const std::vector<Sequence> mixed = {{1, 1}, {1, 37}, {20, 33}};
  for (DType dtype : {DType::bf16, DType::f32}) {
    for (int64_t d : {64, 128}) {
      for (int64_t window : {1, 5, 16, 17, 40}) cases.push_back({dtype, d, 8, 2, mixed, 16, true, kernels::kSplitWorkspaceBytes, window});
    }
  }
  cases.push_back({DType::bf16, 64, 4, 1, {{1000, 1000}, {300, 4097}}, 32, true, kernels::kSplitWorkspaceBytes, 100});
  cases.push_back({DType::f16, 128, 32, 8, {{1, 4097}, {1, 700}, {1, 3}}, 16, true, kernels::kSplitWorkspaceBytes, 1000});
  cases.push_back({DType::bf16, 256, 8, 1, {{1, 2000}}, 16, true, kernels::kSplitWorkspaceBytes, 65});
  return cases;
}
INSTANTIATE_TEST_SUITE_P(Windows, PagedAttentionGpu, ::testing::ValuesIn(windows()));

std::vector<PagedCase> wide_heads() {
  // Head dims past the tensor-core tiles (320, and 512 at the warp kernel's 16 features a
  // lane) in the mixed batch and a long decode, every dtype, 6 query heads over 3 or 1.
  std::vector<PagedCase> cases;
  const std::vector<Sequence> mixed = {{1, 1}, {1, 37}, {20, 33}};
  for (DType dtype : {DType::bf16, DType::f16, DType::f32}) {
    for (int64_t d : {320, 512}) {
      for (int64_t kv : {3, 1}) cases.push_back({dtype, d, 6, kv, mixed});
    }
  }
  cases.push_back({DType::bf16, 512, 8, 1, {{1, 1000}, {1, 4097}}, 32});
  return cases;
}
INSTANTIATE_TEST_SUITE_P(WideHeads, PagedAttentionGpu, ::testing::ValuesIn(wide_heads()));

std::vector<PagedCase> padded_heads() {
  // Head dims between the tensor-core tiles: 40 and 72 zero-padded to 64 and 80 (query
  // tiles, prompts and decodes alike), 160 exactly (its decode split over the keys).
  std::vector<PagedCase> cases;
  const std::vector<Sequence> mixed = {{1, 1}, {1, 37}, {20, 33}};
  for (DType dtype : {DType::bf16, DType::f16}) {
    for (int64_t d : {40, 72, 160}) cases.push_back({dtype, d, 8, 2, mixed});
  }
  cases.push_back({DType::bf16, 40, 8, 8, {{1000, 1000}, {70, 300}}, 32});
  cases.push_back({DType::bf16, 40, 8, 1, {{1, 4097}, {1, 9}}, 16});
  cases.push_back({DType::f16, 160, 32, 8, {{1, 1000}}});
  return cases;
}
INSTANTIATE_TEST_SUITE_P(PaddedHeads, PagedAttentionGpu, ::testing::ValuesIn(padded_heads()));

TEST(PagedAttentionGpuLaunch, RejectsImpossibleShapes) {
  kernels::PagedAttentionLaunch<float> launch{.seqs = 1, .tokens = 1, .q_heads = 6, .kv_heads = 4, .head_dim = 64,
                                              .block_size = 16};
  EXPECT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaErrorInvalidValue);  // 6 % 4
  launch.kv_heads = 2;
  launch.head_dim = 544;
  EXPECT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaErrorInvalidValue);
  launch.head_dim = 64;
  launch.q_heads = launch.kv_heads = 4 * 65536;  // more head blocks than the grid's y axis holds
  EXPECT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaErrorInvalidValue);
  launch.q_heads = launch.kv_heads = 4;
  launch.window = -1;
  EXPECT_EQ(kernels::launch_paged_attention(launch, nullptr), cudaErrorInvalidValue);
}

// Beyond the kernel's head dims the op entry names the limit before any launch.
TEST(PagedAttentionGpuEntry, NamesTheHeadDimLimit) {
  GENRT_REQUIRE_GPU();
  const int64_t head_dim = 544;
  const Tensor q = Tensor::zeros({1, 2, head_dim}, DType::bf16, Device::cuda);
  const Tensor cache = Tensor::zeros({1, 16, 2, head_dim}, DType::bf16, Device::cuda);
  Tensor out = Tensor::zeros({1, 2, head_dim}, DType::bf16, Device::cuda);
  const PagedBatch batch{.positions = Tensor::zeros({1}, DType::i32, Device::cuda),
                         .slots = Tensor::zeros({1}, DType::i32, Device::cuda),
                         .query_start = Tensor::zeros({2}, DType::i32, Device::cuda),
                         .context_lens = Tensor::zeros({1}, DType::i32, Device::cuda),
                         .block_tables = Tensor::zeros({1, 1}, DType::i32, Device::cuda),
                         .block_size = 16};
  EXPECT_ERROR(ops::paged_attention(q, cache, cache, batch, 1.0f, 0, out),
               "paged_attention on the GPU supports head_dim from 1 to 512, got 544");
}

}  // namespace
}  // namespace genrt
