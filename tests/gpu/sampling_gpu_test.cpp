// The sampling kernels against their CPU references (kernels/ref/sampling.h, penalties.h,
// token_logprobs.h): the same token for every row, seed and step, over vocabularies that
// are not a multiple of the block and rows with ties, NaN and infinities; penalized logits
// bit for bit; logprobs' token ids exactly and their values to a rounding. The references'
// own behaviour is tested on the CPU (tests/unit/ref/). Skips without a device.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/penalties.cuh"
#include "kernels/sampling.cuh"
#include "kernels/token_logprobs.cuh"
#include "kernels/token_mask.cuh"
#include "tests/gpu/gpu_test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;

template <class T>
std::vector<T> read_back(const DeviceBuffer& buffer, size_t n) {
  std::vector<T> out(n);
  EXPECT_EQ(cudaMemcpy(out.data(), buffer.get<T>(), n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return out;
}

template <class T>
DeviceBuffer on_device(const std::vector<T>& values) {
  return DeviceBuffer(values.data(), values.size() * sizeof(T));
}

// A logits row with the kind of trouble `salt` picks: a tie at the top, NaNs, -inf
// entries, a +inf entry, a single dominant token, or none.
std::vector<float> awkward_row(int64_t vocab, int salt) {
  std::vector<float> v = test::pattern(static_cast<size_t>(vocab), 2.0f + static_cast<float>(salt % 4), salt, DType::f32);
  const auto at = [&](int64_t i) -> float& { return v[static_cast<size_t>(i % vocab)]; };
  switch (salt % 6) {
    case 0: at(vocab / 3) = at(vocab - 1) = 9.0f; break;
    case 1: for (int64_t i = salt; i < vocab; i += 97) at(i) = NAN; break;
    case 2: for (int64_t i = 0; i < vocab; i += 13) at(i) = -INFINITY; break;
    case 3: at(salt * 31) = INFINITY; break;
    case 4: at(salt * 7) += 12.0f; break;
    default: break;
  }
  return v;
}

// Parameter sets the rows cycle through: greedy, plain, each filter alone, at its edges
// (top_k past the vocabulary, tiny top_p, min_p = 1) and combined.
const std::vector<ref::SamplingRow> kParams = {
    {.temperature = 0.0f},
    {.temperature = 1.0f},
    {.temperature = 0.3f},
    {.temperature = 1.7f, .top_k = 40},
    {.temperature = 1.0f, .top_k = 1},
    {.temperature = 1.0f, .top_k = 1 << 30},
    {.temperature = 0.8f, .top_p = 0.9f},
    {.temperature = 1.0f, .top_p = 1e-6f},
    {.temperature = 1.2f, .min_p = 0.05f},
    {.temperature = 0.7f, .min_p = 1.0f},
    {.temperature = 0.9f, .top_k = 50, .top_p = 0.95f, .min_p = 0.02f},
};

class SamplingGpu : public ::testing::TestWithParam<int64_t> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

// Every row draws on the GPU exactly the token the CPU reference draws.
TEST_P(SamplingGpu, DrawsTheReferenceTokens) {
  const int64_t vocab = GetParam();
  const int64_t rows = vocab > 50000 ? 24 : 66;  // the reference's emulated sums are slow for large rows
  std::vector<float> logits;
  std::vector<ref::SamplingRow> params;
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<float> row = awkward_row(vocab, static_cast<int>(r));
    logits.insert(logits.end(), row.begin(), row.end());
    ref::SamplingRow p = kParams[static_cast<size_t>(r) % kParams.size()];
    p.seed = 1000 + static_cast<uint64_t>(r) * 7;
    params.push_back(p);
  }
  DeviceBuffer d_logits(logits, DType::f32);
  std::vector<int32_t> want(static_cast<size_t>(rows), -1);
  for (uint64_t step : {0ull, 1ull, 77ull, 1ull << 33}) {
    for (ref::SamplingRow& p : params) p.step = step;
    DeviceBuffer d_params = on_device(params), d_out = on_device(std::vector<int32_t>(static_cast<size_t>(rows), -1));
    const ref::SamplingArgs gpu{.logits = d_logits.get<float>(),
                                .params = d_params.get<ref::SamplingRow>(),
                                .out = d_out.get<int32_t>(),
                                .rows = rows,
                                .vocab = vocab};
    ASSERT_EQ(kernels::launch_sampling(gpu, nullptr), cudaSuccess);
    const std::vector<int32_t> got = read_back<int32_t>(d_out, static_cast<size_t>(rows));
    ref::sample({.logits = logits.data(), .params = params.data(), .out = want.data(), .rows = rows, .vocab = vocab});
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_EQ(got[r], want[r]) << "vocab " << vocab << ", row " << r << " (parameter set " << r % kParams.size()
                                 << ", trouble " << r % 6 << "), step " << step;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, SamplingGpu,
                         ::testing::Values(1, 7, 100, 511, 512, 513, 1000, 4097, 32000, 32017, 128256));

// Seed 1, step 27392119 draws u = 1.0f, at the kept mass: the walk must still end on the
// one kept token (kernels/ref/sampling.h, pick_kept_token).
TEST(SamplingGpuEdges, DrawRoundedUpToTheKeptMassStaysOnAKeptToken) {
  GENRT_REQUIRE_GPU();
  std::vector<float> row(100, 0.0f);
  row[57] = 5.0f;
  const std::vector<ref::SamplingRow> params = {{.temperature = 1.0f, .top_k = 1, .seed = 1, .step = 27392119}};
  DeviceBuffer d_logits(row, DType::f32), d_params = on_device(params), d_out = on_device(std::vector<int32_t>{-1});
  ASSERT_EQ(kernels::launch_sampling({.logits = d_logits.get<float>(),
                                      .params = d_params.get<ref::SamplingRow>(),
                                      .out = d_out.get<int32_t>(),
                                      .rows = 1,
                                      .vocab = 100},
                                     nullptr),
            cudaSuccess);
  EXPECT_EQ(read_back<int32_t>(d_out, 1)[0], 57);
}

TEST(SamplingGpuEdges, LaunchersRejectBadShapes) {
  GENRT_REQUIRE_GPU();
  float logits = 0.0f;
  int32_t out = 0;
  const ref::SamplingRow row{};
  EXPECT_EQ(kernels::launch_sampling({.logits = &logits, .params = &row, .out = &out, .rows = 1, .vocab = 0}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(kernels::launch_sampling({.logits = &logits, .params = nullptr, .out = &out, .rows = 1, .vocab = 1}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(kernels::launch_token_logprobs({.logits = &logits, .chosen = &out, .rows = &out, .logprob = &logits,
                                            .rows_n = 1, .logit_rows = 1, .vocab = 1, .top_n = 21},
                                           nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(kernels::launch_apply_penalties({.rows = 1, .vocab = 1}, nullptr), cudaErrorInvalidValue);
}

TEST(PenaltiesGpu, MatchTheReferenceBitForBit) {
  GENRT_REQUIRE_GPU();
  const int64_t vocab = 1000 + 17, rows = 6;
  const std::vector<float> logits = test::pattern(static_cast<size_t>(rows * vocab), 4.0f, 2, DType::f32);
  // Row 0: three context tokens; row 1: none; row 2: penalty 1 (off); row 3: the first and
  // last tokens; row 4: many, with penalty < 1 (encouraging); row 5: every kind at once —
  // presence and frequency penalties over generated counts, biases of +-100, and tokens
  // only biased — where a fused multiply-add would round differently from the reference.
  std::vector<ref::PenaltyToken> tokens = {{.id = 5, .in_context = 1}, {.id = 17, .in_context = 1},
                                           {.id = 900, .in_context = 1}, {.id = 17, .in_context = 1},
                                           {.id = 0, .in_context = 1}, {.id = static_cast<int32_t>(vocab - 1), .in_context = 1}};
  const auto many = static_cast<int32_t>(tokens.size());
  for (int32_t t = 3; t < vocab; t += 11) tokens.push_back({.id = t, .in_context = 1});
  const auto mixed = static_cast<int32_t>(tokens.size());
  for (int32_t t = 1; t < vocab; t += 7) {
    tokens.push_back({.id = t, .in_context = t % 3 == 0, .generated = t % 5, .bias = (t % 4 == 0) ? 100.0f : -0.3f * (t % 9)});
  }
  const std::vector<ref::PenaltyRow> params = {
      {.repetition = 1.3f, .begin = 0, .end = 3},
      {.repetition = 2.0f, .begin = 3, .end = 3},
      {.repetition = 1.0f, .begin = 3, .end = 4},
      {.repetition = 1.7f, .begin = 4, .end = 6},
      {.repetition = 0.8f, .begin = many, .end = mixed},
      {.repetition = 1.1f, .presence = 0.7f, .frequency = -1.3f, .begin = mixed, .end = static_cast<int32_t>(tokens.size())}};
  DeviceBuffer d_logits(logits, DType::f32), d_out(std::vector<float>(logits.size(), -1.0f), DType::f32);
  DeviceBuffer d_params = on_device(params), d_tokens = on_device(tokens);
  ASSERT_EQ(kernels::launch_apply_penalties({.logits = d_logits.get<float>(),
                                             .out = d_out.get<float>(),
                                             .params = d_params.get<ref::PenaltyRow>(),
                                             .tokens = d_tokens.get<ref::PenaltyToken>(),
                                             .rows = rows,
                                             .vocab = vocab,
                                             .n_tokens = static_cast<int64_t>(tokens.size())},
                                            nullptr),
            cudaSuccess);
  std::vector<float> want(logits.size());
  ref::apply_penalties({.logits = logits.data(),
                        .out = want.data(),
                        .params = params.data(),
                        .tokens = tokens.data(),
                        .rows = rows,
                        .vocab = vocab,
                        .n_tokens = static_cast<int64_t>(tokens.size())});
  const std::vector<float> got = d_out.read();
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "row " << i / vocab << " token " << i % vocab;
}

// Constrained decoding's masks: every logit kept or -inf exactly as the reference, in place
// and out of place, for vocabularies across word and block edges, rows allowing all,
// none, one token at either end, or a pattern; NaN logits stay NaN where allowed.
TEST(TokenMaskGpu, MatchTheReferenceBitForBit) {
  GENRT_REQUIRE_GPU();
  for (const int64_t vocab : {1, 31, 33, 256, 257, 32017}) {
    const int64_t rows = 5, words = (vocab + 31) / 32;
    std::vector<float> logits = test::pattern(static_cast<size_t>(rows * vocab), 4.0f, 3, DType::f32);
    logits[static_cast<size_t>(vocab / 2)] = NAN;
    std::vector<uint32_t> allowed(static_cast<size_t>(rows * words), 0);
    const auto allow = [&](int64_t r, int64_t t) { allowed[static_cast<size_t>(r * words + t / 32)] |= 1u << (t % 32); };
    for (int64_t t = 0; t < vocab; ++t) allow(0, t);
    allow(2, 0);
    allow(3, vocab - 1);
    for (int64_t t = 0; t < vocab; t += 3) allow(4, t);  // row 1: none
    std::vector<float> want(logits.size());
    ref::mask_tokens({.logits = logits.data(), .allowed = allowed.data(), .out = want.data(), .rows = rows,
                      .vocab = vocab, .words = words});
    DeviceBuffer d_logits(logits, DType::f32), d_out(std::vector<float>(logits.size(), 7.0f), DType::f32);
    DeviceBuffer d_allowed = on_device(allowed);
    const ref::TokenMaskArgs args{.logits = d_logits.get<float>(), .allowed = d_allowed.get<uint32_t>(),
                                  .out = d_out.get<float>(), .rows = rows, .vocab = vocab, .words = words};
    ASSERT_EQ(kernels::launch_mask_tokens(args, nullptr), cudaSuccess);
    ref::TokenMaskArgs in_place = args;
    in_place.out = d_logits.get<float>();
    ASSERT_EQ(kernels::launch_mask_tokens(in_place, nullptr), cudaSuccess);
    for (const std::vector<float>& got : {d_out.read(), d_logits.read()}) {
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
            << "vocab " << vocab << " row " << i / vocab << " token " << i % vocab << ": " << got[i] << " vs " << want[i];
      }
    }
  }
  // Too few words for the vocabulary, with every pointer valid (never dereferenced).
  float logit = 0;
  uint32_t word = 0;
  EXPECT_EQ(kernels::launch_mask_tokens(
                {.logits = &logit, .allowed = &word, .out = &logit, .rows = 1, .vocab = 64, .words = 1}, nullptr),
            cudaErrorInvalidValue);
}

// Token ids exactly; values to the rounding of log_z, whose fp64 sum the kernel adds in
// another order: an fp32 ulp or two of log_z (below 25 here: max logit + log(vocab)),
// which is 2e-6 at most.
TEST(TokenLogprobsGpu, MatchTheReference) {
  GENRT_REQUIRE_GPU();
  for (const int64_t vocab : {3, 513, 32017}) {
    for (const int64_t top_n : {0, 5, 20}) {
      const int64_t logit_rows = 8;
      std::vector<float> logits;
      std::vector<int32_t> chosen;
      for (int64_t r = 0; r < logit_rows; ++r) {
        // Every kind of trouble but +inf, whose row has no distribution (log_z is NaN).
        const std::vector<float> row = awkward_row(vocab, static_cast<int>(r < 3 ? r : r + 1));
        logits.insert(logits.end(), row.begin(), row.end());
        chosen.push_back(static_cast<int32_t>((r * 131) % vocab));
      }
      const std::vector<int32_t> requests = {6, 0, 3, 3, 7};
      const auto n = static_cast<int64_t>(requests.size());
      DeviceBuffer d_logits(logits, DType::f32), d_chosen = on_device(chosen), d_rows = on_device(requests);
      DeviceBuffer d_logprob(std::vector<float>(requests.size()), DType::f32);
      DeviceBuffer d_top_ids = on_device(std::vector<int32_t>(static_cast<size_t>(n * std::max<int64_t>(top_n, 1))));
      DeviceBuffer d_top(std::vector<float>(static_cast<size_t>(n * std::max<int64_t>(top_n, 1))), DType::f32);
      ref::TokenLogprobsArgs args{.logits = d_logits.get<float>(),
                                  .chosen = d_chosen.get<int32_t>(),
                                  .rows = d_rows.get<int32_t>(),
                                  .logprob = d_logprob.get<float>(),
                                  .top_ids = d_top_ids.get<int32_t>(),
                                  .top_logprobs = d_top.get<float>(),
                                  .rows_n = n,
                                  .logit_rows = logit_rows,
                                  .vocab = vocab,
                                  .top_n = top_n};
      ASSERT_EQ(kernels::launch_token_logprobs(args, nullptr), cudaSuccess);
      const std::vector<float> got_logprob = d_logprob.read(), got_top = d_top.read();
      const std::vector<int32_t> got_ids = read_back<int32_t>(d_top_ids, static_cast<size_t>(n * top_n));

      std::vector<float> want_logprob(requests.size()), want_top(static_cast<size_t>(n * top_n));
      std::vector<int32_t> want_ids(static_cast<size_t>(n * top_n));
      args.logits = logits.data();
      args.chosen = chosen.data();
      args.rows = requests.data();
      args.logprob = want_logprob.data();
      args.top_ids = want_ids.data();
      args.top_logprobs = want_top.data();
      ref::token_logprobs(args);
      const auto near = [](float got, float want) {
        return got == want || std::abs(got - want) <= 4e-6f;  // -inf == -inf too; NaN fails
      };
      for (int64_t m = 0; m < n; ++m) {
        EXPECT_TRUE(near(got_logprob[m], want_logprob[m]))
            << "vocab " << vocab << " request " << m << ": " << got_logprob[m] << " vs " << want_logprob[m];
        for (int64_t k = 0; k < top_n; ++k) {
          const size_t i = static_cast<size_t>(m * top_n + k);
          EXPECT_EQ(got_ids[i], want_ids[i]) << "vocab " << vocab << " request " << m << " top " << k;
          EXPECT_TRUE(near(got_top[i], want_top[i]))
              << "vocab " << vocab << " request " << m << " top " << k << ": " << got_top[i] << " vs " << want_top[i];
        }
      }
    }
  }
}

}  // namespace
}  // namespace genrt
