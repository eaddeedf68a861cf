// The C API's embedding entries: transformers' pooled embeddings of the tiny BERT through
// genrt_embed, and every misuse a status with a message.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "genrt/genrt.h"
#include "runtime/io/json_file.h"
#include "tests/test_util.h"

namespace {

std::string tiny_bert() { return (genrt::test::data_dir() / "tiny_bert").string(); }

std::string last_error() { return genrt_last_error(); }

class CApiEmbedding : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(genrt_embedding_model_load(tiny_bert().c_str(), nullptr, &model_), GENRT_OK) << last_error();
  }
  void TearDown() override { EXPECT_EQ(genrt_embedding_model_free(model_), GENRT_OK); }
  genrt_embedding_model* model_ = nullptr;
};

TEST_F(CApiEmbedding, ABatchOfTextsIsTransformersEmbeddingsRowByRow) {
  const nlohmann::json inputs = genrt::read_json_file(genrt::test::data_dir() / "tiny_bert" / "golden.json").at("inputs");
  size_t dims = 0;
  ASSERT_EQ(genrt_embedding_dimensions(model_, &dims), GENRT_OK);
  ASSERT_EQ(dims, 32u);
  std::vector<std::string> texts;
  for (const auto& input : inputs) texts.push_back(input.at("text"));
  std::vector<const char*> pointers;
  for (const auto& t : texts) pointers.push_back(t.c_str());
  std::vector<float> matrix(texts.size() * dims, -1.0f);
  ASSERT_EQ(genrt_embed(model_, pointers.data(), nullptr, texts.size(), matrix.data(), matrix.size()), GENRT_OK)
      << last_error();
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto want = inputs[i].at("embedding").get<std::vector<float>>();
    for (size_t d = 0; d < dims; ++d) EXPECT_NEAR(matrix[i * dims + d], want[d], 1e-5f) << "text " << i;
  }
  // Lengths instead of NUL terminators: the first two bytes of "The quick brown fox." alone.
  const size_t two = 2;
  std::vector<float> one(dims);
  ASSERT_EQ(genrt_embed(model_, pointers.data(), &two, 1, one.data(), one.size()), GENRT_OK) << last_error();
  EXPECT_NE(one, std::vector<float>(matrix.begin(), matrix.begin() + static_cast<ptrdiff_t>(dims)));
}

TEST_F(CApiEmbedding, MisuseIsAStatusWithAMessage) {
  const char* text = "hello";
  float out[64];
  EXPECT_EQ(genrt_embed(model_, &text, nullptr, 1, out, 31), GENRT_ERROR_BUFFER_TOO_SMALL);
  EXPECT_EQ(last_error(), "genrt_embed: embeddings buffer holds 31 floats, 32 needed");
  EXPECT_EQ(genrt_embed(model_, &text, nullptr, 0, out, 64), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(genrt_embed(model_, nullptr, nullptr, 1, out, 64), GENRT_ERROR_INVALID_ARGUMENT);
  const char* missing[] = {"a", nullptr};
  EXPECT_EQ(genrt_embed(model_, missing, nullptr, 2, out, 64), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(), "genrt_embed: text 1 is NULL");
  std::string words;
  for (int i = 0; i < 50; ++i) words += "fox ";
  const char* too_long = words.c_str();
  EXPECT_EQ(genrt_embed(model_, &too_long, nullptr, 1, out, 64), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("text 0 has 102 tokens, but the model's context is 40 tokens"), std::string::npos)
      << last_error();
  size_t dims = 0;
  EXPECT_EQ(genrt_embedding_dimensions(nullptr, &dims), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(genrt_embedding_dimensions(model_, nullptr), GENRT_ERROR_INVALID_ARGUMENT);
}

TEST(CApiEmbeddingLoad, ModelsThatAreNotEncodersAreRefused) {
  genrt_embedding_model* model = nullptr;
  const std::string gpt2 = (genrt::test::data_dir() / "tiny_gpt2").string();
  EXPECT_EQ(genrt_embedding_model_load(gpt2.c_str(), nullptr, &model), GENRT_ERROR_MODEL);
  EXPECT_NE(last_error().find("not a supported encoder"), std::string::npos) << last_error();
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(genrt_embedding_model_load(nullptr, nullptr, &model), GENRT_ERROR_INVALID_ARGUMENT);
  int not_a_model = 0;
  EXPECT_EQ(genrt_embedding_model_free(reinterpret_cast<genrt_embedding_model*>(&not_a_model)),
            GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(genrt_embedding_model_free(nullptr), GENRT_OK);
}

}  // namespace
