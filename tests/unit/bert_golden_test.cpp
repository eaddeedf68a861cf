// The BERT and RoBERTa encoders against Hugging Face transformers goldens
// (tools/golden/bert.py): last hidden states, masked-LM logits and pooled embeddings,
// and the errors of configs and requests an encoder cannot serve.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/models/bert/bert_model.h"
#include "runtime/models/bert/pooling.h"
#include "runtime/models/load_model.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/load_tokenizer.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

// fp32 on both sides, as for the decoders (model_golden_test.cpp): hidden states are
// LayerNorm outputs of O(1) and logits O(1-10), so 2e-4 absolute is the 2e-4 relative target.
constexpr float kTolerance = 2e-4f;

void expect_rows_match(const Tensor& got, const nlohmann::json& want, const char* what) {
  const auto rows = want.get<std::vector<std::vector<float>>>();
  ASSERT_EQ(got.dim(0), static_cast<int64_t>(rows.size())) << what;
  for (size_t r = 0; r < rows.size(); ++r) {
    ASSERT_EQ(got.dim(1), static_cast<int64_t>(rows[r].size())) << what;
    const float err = test::max_abs_diff(got.select(static_cast<int64_t>(r)).data<float>(), rows[r].data(),
                                         rows[r].size());
    EXPECT_LE(err, kTolerance) << what << " row " << r;
  }
}

class EncoderGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(EncoderGolden, HiddenStatesLogitsAndEmbeddingsMatchTransformers) {
  const auto dir = test::data_dir() / GetParam();
  const auto golden = read_json_file(dir / "golden.json");
  const BertModel model = load_bert(dir);
  const Pooling pooling = read_pooling(dir);
  EXPECT_EQ(pooling.mode == PoolingMode::cls ? "cls" : "mean", golden.at("pooling").get<std::string>());
  EXPECT_TRUE(pooling.normalize);
  ASSERT_FALSE(golden.at("inputs").empty());
  for (const auto& input : golden.at("inputs")) {
    const auto ids = input.at("ids").get<std::vector<int32_t>>();
    const Tensor hidden = model.encode(ids);
    expect_rows_match(hidden, input.at("hidden"), "hidden");
    expect_rows_match(model.mlm_logits(ids), input.at("mlm_logits"), "mlm logits");
    const double similarity = test::cosine_similarity(pool(hidden, pooling), input.at("embedding").get<std::vector<float>>());
    EXPECT_GE(similarity, 0.99999) << "embedding of " << input.dump().substr(0, 40);
  }
}

// tiny_xlmr: XLM-RoBERTa with SentencePiece's nmt_nfkc charsmap in its tokenizer, so its
// texts (full-width letters, a ligature) check the tokenizer's ids as well.
INSTANTIATE_TEST_SUITE_P(Encoders, EncoderGolden, ::testing::Values("tiny_bert", "tiny_roberta", "tiny_xlmr"));

TEST(Encoder, XlmRobertaTokenizesThroughItsPrecompiledNormalizer) {
  const auto dir = test::data_dir() / "tiny_xlmr";
  const auto tokenizer = open_tokenizer(dir, load_bert(dir).config().vocab_size);
  const auto golden = read_json_file(dir / "golden.json");
  for (const auto& input : golden.at("inputs")) {
    EXPECT_EQ(tokenizer->encode(input.at("text").get<std::string>(), true), input.at("ids").get<std::vector<int32_t>>())
        << input.at("text");
  }
}

TEST(Encoder, BatchesOfEqualLengthsEqualEachSequenceAlone) {
  const BertModel model = load_bert(test::data_dir() / "tiny_bert");
  ASSERT_EQ(model.step_tokens(), 40);  // on the CPU, a context: five 11-token inputs take two forwards
  std::vector<std::vector<int32_t>> inputs;
  const nlohmann::json golden = read_json_file(test::data_dir() / "tiny_bert" / "golden.json");
  for (const auto& input : golden.at("inputs")) {  // a range over a temporary's member would dangle
    inputs.push_back(input.at("ids").get<std::vector<int32_t>>());  // 11, 11 and 13 tokens
  }
  inputs.push_back({2, 50, 60, 3});
  inputs.push_back(inputs[0]);
  inputs.push_back({2, 70, 80, 3});
  inputs.push_back(inputs[1]);
  inputs.push_back(inputs[1]);
  const std::vector<Tensor> batched = model.encode_batch(inputs);
  ASSERT_EQ(batched.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor alone = model.encode(inputs[i]);
    ASSERT_EQ(batched[i].shape(), alone.shape()) << "input " << i;
    EXPECT_LE(test::max_abs_diff(batched[i].data<float>(), alone.data<float>(), alone.numel()), 1e-5f)
        << "input " << i;
  }
  EXPECT_ERROR(model.encode_batch(std::vector<std::vector<int32_t>>{{2, 3}, {}}), "input 1 is empty");
}

TEST(Encoder, TextThroughTheTokenizerIsTheGoldenInput) {
  const auto dir = test::data_dir() / "tiny_bert";
  const HfTokenizer tok = HfTokenizer::open(dir);
  const nlohmann::json golden = read_json_file(dir / "golden.json");
  for (const auto& input : golden.at("inputs")) {
    EXPECT_EQ(tok.encode(input.at("text").get<std::string>(), true), input.at("ids").get<std::vector<int32_t>>());
  }
}

TEST(Encoder, PoolingWithoutSentenceTransformersConfigIsMeanUnnormalized) {
  const test::TempDir dir;
  const Pooling p = read_pooling(dir.path());
  EXPECT_EQ(p.mode, PoolingMode::mean);
  EXPECT_FALSE(p.normalize);
  Tensor hidden = Tensor::zeros({2, 2}, DType::f32);
  const float values[] = {1, 2, 3, 6};
  std::copy(values, values + 4, hidden.data<float>());
  EXPECT_EQ(pool(hidden, p), (std::vector<float>{2, 4}));
  const std::vector<float> cls = pool(hidden, {.mode = PoolingMode::cls, .normalize = true});
  ASSERT_EQ(cls.size(), 2u);
  EXPECT_NEAR(cls[0], 1 / std::sqrt(5.0f), 1e-7f);
  EXPECT_NEAR(cls[1], 2 / std::sqrt(5.0f), 1e-7f);
  EXPECT_EQ(pool(hidden, {.mode = PoolingMode::last}), (std::vector<float>{3, 6}));
}

TEST(Encoder, HostileConfigsAndInputsNameTheProblem) {
  const auto config = read_json_file(test::data_dir() / "tiny_bert" / "config.json");
  auto broken = config;
  broken["hidden_act"] = "relu";
  EXPECT_ERROR(bert_config_from_hf(broken, "c.json"), "hidden_act 'relu' is not supported");
  broken = config;
  broken["position_embedding_type"] = "relative_key";
  EXPECT_ERROR(bert_config_from_hf(broken, "c.json"), "position_embedding_type 'relative_key' is not supported");
  broken = config;
  broken["architectures"] = {"BertForSequenceClassification"};
  EXPECT_ERROR(bert_config_from_hf(broken, "c.json"), "architecture 'BertForSequenceClassification' is not a supported encoder");

  const BertModel model = load_bert(test::data_dir() / "tiny_bert");
  EXPECT_ERROR(model.encode(std::vector<int32_t>(41, 5)), "the input has 41 tokens, but the model's context is 40 tokens");
  EXPECT_ERROR(model.encode(std::vector<int32_t>{5, 1000}), "token id 1000 is outside the vocabulary");
  EXPECT_ERROR(model.encode({}), "the input is empty");
}

TEST(Encoder, AskedToGenerateItSaysItIsAnEncoder) {
  EXPECT_ERROR(load_causal_lm(test::data_dir() / "tiny_bert"),
               "BertForMaskedLM is an encoder: it embeds and fills masks (genrt embed, genrt fill-mask), it does "
               "not generate");
  EXPECT_ERROR(read_model_spec(test::data_dir() / "tiny_roberta"), "RobertaForMaskedLM is an encoder");
}

TEST(Encoder, RobertaContextExcludesThePaddingOffset) {
  const BertModel model = load_bert(test::data_dir() / "tiny_roberta");
  EXPECT_EQ(model.config().position_offset, 2);
  EXPECT_EQ(model.config().context_length(), 32);
  EXPECT_NO_THROW(model.encode(std::vector<int32_t>(32, 5)));
  EXPECT_ERROR(model.encode(std::vector<int32_t>(33, 5)), "context is 32 tokens");
}

}  // namespace
}  // namespace genrt
