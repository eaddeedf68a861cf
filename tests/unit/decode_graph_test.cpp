// What the CUDA graphs of decode steps rest on, checked on the CPU: the batch buckets, the
// padding rows that fill a step to its bucket (they must change no sequence's logits,
// keys or values), the KV block they write, and block tables of a fixed width.

#include <gtest/gtest.h>

#include <vector>

#include "runtime/core/max_rel_diff.h"
#include "runtime/engine/step_sampler.h"
#include "runtime/models/decoder_device.h"
#include "runtime/models/llama/llama_init.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

TEST(DecodeGraphs, BucketsArePowersOfTwoUpToTheStepLimit) {
  EXPECT_EQ(DecoderDevice::graph_buckets({.max_step_tokens = 512, .max_step_seqs = 256}),
            (std::vector<int64_t>{1, 2, 4, 8, 16, 32, 64, 128, 256}));
  EXPECT_EQ(DecoderDevice::graph_buckets({.max_step_tokens = 512, .max_step_seqs = 100}),
            (std::vector<int64_t>{1, 2, 4, 8, 16, 32, 64, 100}));
  EXPECT_EQ(DecoderDevice::graph_buckets({.max_step_tokens = 48, .max_step_seqs = 256}),
            (std::vector<int64_t>{1, 2, 4, 8, 16, 32, 48}));
  EXPECT_EQ(DecoderDevice::graph_buckets({.max_step_tokens = 512, .max_step_seqs = 1}), (std::vector<int64_t>{1}));
}

TEST(DecodeGraphs, ThePaddingBlockLeavesThePoolForGood) {
  KvCache cache({.layers = 1, .blocks = 4, .block_size = 16, .kv_heads = 1, .head_dim = 8}, Device::cpu);
  EXPECT_EQ(cache.usable_blocks(), 4);
  EXPECT_ERROR(cache.padding_table(), "the KV cache has no padding block");
  cache.set_aside_padding_block();
  cache.set_aside_padding_block();  // once
  const BlockTable& padding = cache.padding_table();
  EXPECT_EQ(padding.used, 1);
  EXPECT_EQ(cache.usable_blocks(), 3);
  EXPECT_EQ(cache.free_blocks(), 3);
  BlockTable all;
  EXPECT_FALSE(cache.reserve(all, 4 * 16));
  EXPECT_TRUE(cache.reserve(all, 3 * 16));
  for (int64_t b = 0; b < all.used; ++b) EXPECT_NE(all.ids.data<int32_t>()[b], padding.ids.data<int32_t>()[0]);
  KvCache full({.layers = 1, .blocks = 1, .block_size = 16, .kv_heads = 1, .head_dim = 8}, Device::cpu);
  BlockTable taken;
  ASSERT_TRUE(full.reserve(taken, 1));
  EXPECT_ERROR(full.set_aside_padding_block(), "the KV cache has no free block to set aside for padding rows");
}

TEST(DecodeGraphs, PaddingRowsFeedTokenZeroAtTheStartOfThePaddingBlock) {
  KvCache cache({.layers = 1, .blocks = 4, .block_size = 4, .kv_heads = 1, .head_dim = 8}, Device::cpu);
  BlockTable table;
  ASSERT_TRUE(cache.reserve(table, 6));
  cache.set_aside_padding_block();
  const ForwardBatch decode{.tokens = {7},
                            .sequences = {{.first_token = 0, .n_tokens = 1, .start_pos = 5, .blocks = &table}}};
  const ForwardBatch padded = pad_decode_batch(decode, 4, cache.padding_table());
  ASSERT_EQ(padded.sequences.size(), 4u);
  EXPECT_EQ(padded.tokens, (std::vector<int32_t>{7, 0, 0, 0}));
  EXPECT_EQ(padded.sequences[2].first_token, 2);
  EXPECT_EQ(padded.sequences[2].start_pos, 0);
  const PagedBatch paged = make_paged_batch(padded, 4, 64, /*table_width=*/16);
  EXPECT_EQ(paged.block_tables.shape(), (Shape{4, 16}));
  const int32_t pad_block = cache.padding_table().ids.data<int32_t>()[0];
  for (int64_t row = 1; row < 4; ++row) {
    EXPECT_EQ(paged.slots.data<int32_t>()[row], pad_block * 4);
    EXPECT_EQ(paged.context_lens.data<int32_t>()[row], 1);
    EXPECT_EQ(paged.block_tables.data<int32_t>()[row * 16], pad_block);
  }
  EXPECT_EQ(paged.context_lens.data<int32_t>()[0], 6);
  EXPECT_ERROR(make_paged_batch(padded, 4, 64, /*table_width=*/1),
               "a block table of 2 blocks is wider than the step's 1");
  const ForwardBatch prefill{.tokens = {1, 2},
                             .sequences = {{.first_token = 0, .n_tokens = 2, .start_pos = 0, .blocks = &table}}};
  EXPECT_FALSE(is_decode_step(prefill));
  EXPECT_ERROR(pad_decode_batch(prefill, 4, cache.padding_table()), "are not a decode step of at most 4 rows");
  EXPECT_ERROR(pad_decode_batch(decode, 0, cache.padding_table()), "are not a decode step of at most 0 rows");
}

// The batch tells the attention kernels how many of its first sequences are one-token
// decodes (a mixed step's, which the GPU runs in the decode kernel).
TEST(DecodeGraphs, PagedBatchesCountTheirLeadingDecodes) {
  KvCache cache({.layers = 1, .blocks = 8, .block_size = 4, .kv_heads = 1, .head_dim = 8}, Device::cpu);
  std::vector<BlockTable> tables(4);
  for (BlockTable& t : tables) ASSERT_TRUE(cache.reserve(t, 8));
  auto chunk = [&](int64_t first, int64_t n, int64_t start, int t) {
    return SequenceChunk{.first_token = first, .n_tokens = n, .start_pos = start, .blocks = &tables[t]};
  };
  const ForwardBatch mixed{.tokens = {1, 2, 3, 4, 5, 6},
                           .sequences = {chunk(0, 1, 5, 0), chunk(1, 1, 2, 1), chunk(2, 3, 0, 2), chunk(5, 1, 7, 3)}};
  EXPECT_EQ(make_paged_batch(mixed, 4, 64).leading_decodes, 2);  // not the decode after the chunk
  EXPECT_EQ(make_paged_batch(mixed, 4, 64).leading_decodes_max_context_len, 6);  // of those two: not the later decode's 8
  EXPECT_EQ(make_paged_batch(mixed, 4, 64).max_context_len, 8);
  const ForwardBatch prefill_first{.tokens = {1, 2, 3, 4}, .sequences = {chunk(0, 3, 0, 0), chunk(3, 1, 4, 1)}};
  EXPECT_EQ(make_paged_batch(prefill_first, 4, 64).leading_decodes, 0);
  EXPECT_EQ(make_paged_batch(prefill_first, 4, 64).leading_decodes_max_context_len, 0);
  const ForwardBatch decodes{.tokens = {1, 2}, .sequences = {chunk(0, 1, 3, 0), chunk(1, 1, 6, 1)}};
  EXPECT_EQ(make_paged_batch(decodes, 4, 64).leading_decodes, 2);
}

// Two sequences decode three steps, once as they are and once padded to 8 rows per step
// (as their bucket's graph runs them): every step's logits of the real rows agree, so the
// padding rows changed neither the sequences' keys and values nor their attention.
TEST(DecodeGraphs, PaddedDecodeStepsGiveTheSequencesTheSameLogits) {
  const LlamaModel model = random_llama_model(llama_preset("stories260k"), 3);
  const std::vector<std::vector<int32_t>> prompts = {{1, 5, 9, 12, 40}, {1, 77, 3, 3, 8, 100, 21, 2, 9}};
  std::vector<std::vector<float>> plain, padded;
  for (const bool pad : {false, true}) {
    KvCache cache = model.make_kv_cache(16, 16);
    cache.set_aside_padding_block();
    std::vector<BlockTable> tables(prompts.size());
    std::vector<std::vector<int32_t>> contexts = prompts;
    ForwardBatch prefill;
    for (size_t s = 0; s < prompts.size(); ++s) {
      ASSERT_TRUE(cache.reserve(tables[s], std::ssize(prompts[s]) + 3));
      prefill.sequences.push_back({.first_token = std::ssize(prefill.tokens), .n_tokens = std::ssize(prompts[s]),
                                   .start_pos = 0, .blocks = &tables[s]});
      prefill.tokens.insert(prefill.tokens.end(), prompts[s].begin(), prompts[s].end());
    }
    model.forward(prefill, cache, LogitsFor::last_token);
    for (int step = 0; step < 3; ++step) {
      ForwardBatch decode;
      for (size_t s = 0; s < prompts.size(); ++s) {
        contexts[s].push_back(static_cast<int32_t>(10 * step + s + 1));
        decode.sequences.push_back({.first_token = static_cast<int64_t>(s), .n_tokens = 1,
                                    .start_pos = std::ssize(contexts[s]) - 1, .blocks = &tables[s]});
        decode.tokens.push_back(contexts[s].back());
      }
      const Tensor logits = model.forward(pad ? pad_decode_batch(decode, 8, cache.padding_table()) : decode, cache,
                                          LogitsFor::last_token);
      ASSERT_EQ(logits.dim(0), pad ? 8 : 2);
      (pad ? padded : plain).emplace_back(logits.data<float>(), logits.data<float>() + 2 * logits.dim(1));
    }
  }
  for (size_t step = 0; step < plain.size(); ++step) {
    EXPECT_LE(max_rel_diff(padded[step].data(), plain[step].data(), plain[step].size()), 1e-6) << "step " << step;
  }
}

// A step that draws its tokens (ForwardBatch::draw, which a decode step's graph takes in
// on the GPU) draws each sequence's token as the sampler would from the step's logits.
// A padded batch leaves the draw to forward(), which refuses one of other rows or of every
// token's logits.
TEST(DecodeGraphs, AStepDrawsTheTokensTheSamplerDrawsFromItsLogits) {
  const LlamaModel model = random_llama_model(llama_preset("stories260k"), 3);
  KvCache cache = model.make_kv_cache(16, 16);
  cache.set_aside_padding_block();
  std::vector<BlockTable> tables(3);
  ForwardBatch batch;
  for (int32_t s = 0; s < 3; ++s) {
    ASSERT_TRUE(cache.reserve(tables[s], 4));
    batch.sequences.push_back({.first_token = 4 * s, .n_tokens = 4, .start_pos = 0, .blocks = &tables[s]});
    batch.tokens.insert(batch.tokens.end(), {1, 5 + s, 9, 12});
  }
  const std::vector<RowSampling> rows = {{.params = {.temperature = 0}},
                                         {.params = {.temperature = 1.5f, .seed = 7}, .draws = 3},
                                         {.params = {.temperature = 0.8f, .top_k = 20, .top_p = 0.9f, .seed = 11}}};
  batch.draw = step_draw(rows, nullptr);
  ASSERT_TRUE(batch.draw.has_value());
  const Tensor logits = model.forward(batch, cache, LogitsFor::last_token);
  const std::vector<SampledToken> want = sample_step(logits, rows, nullptr);
  for (size_t r = 0; r < rows.size(); ++r) EXPECT_EQ(batch.draw->ids.data<int32_t>()[r], want[r].id) << "row " << r;

  EXPECT_ERROR(model.forward(batch, cache, LogitsFor::all_tokens),
               "forward: a step draws from the logits of each sequence's last token");
  ForwardBatch two_rows = batch;
  two_rows.draw = step_draw(std::span(rows).first(2), nullptr);
  EXPECT_ERROR(model.forward(two_rows, cache, LogitsFor::last_token),
               "forward: a draw for 3 sequences needs host parameters [3, 8] (ops::sampling_rows) and 3 ids, got "
               "[2, 8] and 2");
  ForwardBatch decode{.tokens = {7}, .sequences = {{.first_token = 0, .n_tokens = 1, .start_pos = 4, .blocks = &tables[0]}}};
  decode.draw = step_draw(std::span(rows).first(1), nullptr);
  EXPECT_FALSE(pad_decode_batch(decode, 4, cache.padding_table()).draw.has_value());
}

}  // namespace
}  // namespace genrt
