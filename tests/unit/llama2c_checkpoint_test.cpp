// llama2.c checkpoints: a well-formed file maps every weight; each malformed header or
// size gives an error naming the problem.

#include <gtest/gtest.h>

#include <array>

#include "runtime/io/llama2c_checkpoint.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using Header = std::array<int32_t, 7>;  // dim, hidden, layers, heads, kv_heads, vocab, seq_len

int64_t expected_floats(const Header& h) {
  const int64_t dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv = h[4];
  const int64_t vocab = std::abs(static_cast<int64_t>(h[5])), seq = h[6], head = dim / heads;
  return vocab * dim + layers * dim * 2 + layers * dim * heads * head * 2 +
         layers * dim * kv * head * 2 + layers * dim * hidden * 3 + dim + seq * head +
         (h[5] < 0 ? vocab * dim : 0);
}

std::string checkpoint_bytes(const Header& h, int64_t extra_bytes = 0) {
  std::string bytes;
  for (int32_t v : h) test::append_pod(bytes, v);
  const int64_t floats = expected_floats(h);
  for (int64_t i = 0; i < floats; ++i) test::append_pod(bytes, static_cast<float>(i));
  if (extra_bytes > 0) bytes.append(static_cast<size_t>(extra_bytes), '\0');
  if (extra_bytes < 0) bytes.resize(bytes.size() + extra_bytes);
  return bytes;
}

const Header kSmall = {8, 16, 2, 2, 1, 10, 4};

TEST(Llama2cCheckpoint, MapsWeightsInFileOrder) {
  test::TempDir dir;
  test::write_file(dir / "m.bin", checkpoint_bytes(kSmall));
  const auto ckpt = Llama2cCheckpoint::open(dir / "m.bin");
  const Llama2cHeader& h = ckpt.header();
  EXPECT_EQ(h.dim, 8);
  EXPECT_EQ(h.head_size(), 4);
  EXPECT_TRUE(h.shared_classifier);
  const Llama2cWeights& w = ckpt.weights();
  EXPECT_EQ(w.token_embedding_table.shape(), (Shape{10, 8}));
  EXPECT_EQ(w.wk.shape(), (Shape{2, 4, 8}));  // one KV head of 4
  EXPECT_EQ(w.w2.shape(), (Shape{2, 8, 16}));
  EXPECT_EQ(w.rms_att_weight.data<float>()[0], 80.0f);  // right after the 80-float table
  EXPECT_EQ(w.wcls.raw(), w.token_embedding_table.raw());
}

TEST(Llama2cCheckpoint, NegativeVocabMeansSeparateClassifier) {
  test::TempDir dir;
  Header h = kSmall;
  h[5] = -10;
  test::write_file(dir / "m.bin", checkpoint_bytes(h));
  const auto ckpt = Llama2cCheckpoint::open(dir / "m.bin");
  EXPECT_FALSE(ckpt.header().shared_classifier);
  EXPECT_EQ(ckpt.header().vocab_size, 10);
  EXPECT_NE(ckpt.weights().wcls.raw(), ckpt.weights().token_embedding_table.raw());
}

struct BadCheckpoint {
  const char* name;
  std::string bytes;
  const char* error;
};

class HostileLlama2c : public ::testing::TestWithParam<BadCheckpoint> {};

TEST_P(HostileLlama2c, IsRejectedWithAClearError) {
  test::TempDir dir;
  test::write_file(dir / "bad.bin", GetParam().bytes);
  EXPECT_ERROR(Llama2cCheckpoint::open(dir / "bad.bin"), GetParam().error);
}

std::string header_only(const Header& h) {
  std::string bytes;
  for (int32_t v : h) test::append_pod(bytes, v);
  return bytes + std::string(64, '\0');
}

INSTANTIATE_TEST_SUITE_P(
    Table, HostileLlama2c,
    ::testing::Values(
        BadCheckpoint{"TooShortForHeader", std::string(20, '\0'), "too short for the 28-byte llama2.c header"},
        BadCheckpoint{"ZeroDim", header_only({0, 16, 2, 2, 1, 10, 4}), "header field dim = 0 must be positive"},
        BadCheckpoint{"NegativeLayers", header_only({8, 16, -2, 2, 1, 10, 4}), "n_layers = -2 must be positive"},
        BadCheckpoint{"ZeroVocab", header_only({8, 16, 2, 2, 1, 0, 4}), "vocab_size = 0 must be positive"},
        BadCheckpoint{"HeadsNotDividingDim", header_only({8, 16, 2, 3, 1, 10, 4}), "dim 8 is not divisible by n_heads 3"},
        BadCheckpoint{"KvHeadsNotDividingHeads", header_only({8, 16, 2, 2, 3, 10, 4}),
                      "n_heads 2 is not divisible by n_kv_heads 3"},
        BadCheckpoint{"OddHeadSize", header_only({6, 16, 2, 2, 1, 10, 4}), "head size 3 must be even"},
        BadCheckpoint{"SizesOverflow",
                      header_only({2147483644, 2147483647, 2147483647, 2, 1, 2147483647, 2147483647}),
                      "overflow 64-bit sizes"},
        BadCheckpoint{"FileShorterThanHeaderImplies", checkpoint_bytes(kSmall, -4), "implies"},
        BadCheckpoint{"FileLongerThanHeaderImplies", checkpoint_bytes(kSmall, 4), "implies"},
        BadCheckpoint{"VersionedExport", std::string("24ka") + std::string(60, '\0'), "versioned llama2.c export"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace genrt
