// POST /v1/embeddings over loopback HTTP, served by the tiny BERT of tools/golden/bert.py:
// OpenAI's request shapes, float and base64 encodings, usage, and the 400s of inputs the
// model cannot take; and what the other endpoints say when the served model is an encoder.

#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/server/http_server.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/core/base64.h"
#include "tests/e2e/test_server.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::filesystem::path bert_dir() { return test::data_dir() / "tiny_bert"; }

class EmbeddingsServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    service_ = new EmbeddingService(encoder_embedder(load_bert(bert_dir()), read_pooling(bert_dir())),
                                    std::make_unique<HfTokenizer>(HfTokenizer::open(bert_dir())));
    server_ = new test::LoopbackServer("tiny-bert");
    server_->server().set_embedder(service_);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete service_;
  }

  static nlohmann::json post(const std::string& path, const nlohmann::json& body, int expected_status) {
    return server_->post(path, body, expected_status);
  }

  static nlohmann::json golden_input(size_t i) { return read_json_file(bert_dir() / "golden.json").at("inputs")[i]; }

  static inline EmbeddingService* service_ = nullptr;
  static inline test::LoopbackServer* server_ = nullptr;
};


void expect_embedding(const nlohmann::json& got, const nlohmann::json& want) {
  const auto g = got.get<std::vector<float>>(), w = want.get<std::vector<float>>();
  ASSERT_EQ(g.size(), w.size());
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(g[i], w[i], 1e-5f) << i;
}

TEST_F(EmbeddingsServer, AStringIsTransformersEmbeddingWithUsage) {
  const auto input = golden_input(0);
  const auto out = post("/v1/embeddings", {{"model", "tiny-bert"}, {"input", input.at("text")}}, 200);
  EXPECT_EQ(out.at("object"), "list");
  EXPECT_EQ(out.at("model"), "tiny-bert");
  ASSERT_EQ(out.at("data").size(), 1u);
  EXPECT_EQ(out.at("data")[0].at("object"), "embedding");
  EXPECT_EQ(out.at("data")[0].at("index"), 0);
  expect_embedding(out.at("data")[0].at("embedding"), input.at("embedding"));
  EXPECT_EQ(out.at("usage").at("prompt_tokens"), input.at("ids").size());
  EXPECT_EQ(out.at("usage").at("total_tokens"), input.at("ids").size());
}

TEST_F(EmbeddingsServer, ListsOfStringsAndOfTokenIdsKeepTheirOrder) {
  const auto a = golden_input(0), b = golden_input(2);
  const auto out = post("/v1/embeddings", {{"input", {a.at("text"), b.at("ids"), b.at("text")}}}, 200);
  ASSERT_EQ(out.at("data").size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out.at("data")[i].at("index"), i);
  expect_embedding(out.at("data")[0].at("embedding"), a.at("embedding"));
  expect_embedding(out.at("data")[1].at("embedding"), b.at("embedding"));
  expect_embedding(out.at("data")[2].at("embedding"), b.at("embedding"));
  EXPECT_EQ(out.at("usage").at("prompt_tokens"), a.at("ids").size() + 2 * b.at("ids").size());
  const auto ids = post("/v1/embeddings", {{"input", b.at("ids")}}, 200);  // one token-id list
  ASSERT_EQ(ids.at("data").size(), 1u);
  expect_embedding(ids.at("data")[0].at("embedding"), b.at("embedding"));
}

// Requests at once are batched together (the engine runs whatever is waiting as one batch)
// and each gets the embeddings it would get alone.
TEST_F(EmbeddingsServer, ConcurrentRequestsAreBatchedAndGetTheirOwnEmbeddings) {
  const std::vector<std::string> texts = {golden_input(0).at("text"), golden_input(1).at("text"), "a third text",
                                          "and a fourth, longer than the third"};
  std::vector<nlohmann::json> alone;
  for (const std::string& t : texts) alone.push_back(post("/v1/embeddings", {{"input", t}}, 200).at("data")[0]);
  const size_t batches_before = service_->batches(), requests_before = service_->requests();
  constexpr int kClients = 16;
  std::vector<nlohmann::json> got(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", server_->port());
      const auto r = client.Post("/v1/embeddings", nlohmann::json{{"input", texts[c % texts.size()]}}.dump(),
                                 "application/json");
      if (r && r->status == 200) got[c] = nlohmann::json::parse(r->body).at("data")[0];
    });
  }
  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) {
    ASSERT_FALSE(got[c].is_null()) << "client " << c;
    expect_embedding(got[c].at("embedding"), alone[c % texts.size()].at("embedding"));
  }
  EXPECT_EQ(service_->requests() - requests_before, static_cast<size_t>(kClients));
  EXPECT_LE(service_->batches() - batches_before, static_cast<size_t>(kClients));
}

TEST_F(EmbeddingsServer, Base64IsTheLittleEndianFloats) {
  const auto input = golden_input(2);
  const auto floats = post("/v1/embeddings", {{"input", input.at("text")}}, 200);
  const auto b64 = post("/v1/embeddings", {{"input", input.at("text")}, {"encoding_format", "base64"}}, 200);
  const std::string encoded = b64.at("data")[0].at("embedding");
  EXPECT_EQ(encoded.size() % 4, 0u);
  const std::string bytes = base64_decode(encoded, "the response");
  const auto want = floats.at("data")[0].at("embedding").get<std::vector<float>>();
  ASSERT_EQ(bytes.size(), want.size() * sizeof(float));
  std::vector<float> got(want.size());
  std::memcpy(got.data(), bytes.data(), bytes.size());
  EXPECT_EQ(got, want);
}

TEST_F(EmbeddingsServer, InputsTheModelCannotTakeAre400sNamingTheInput) {
  struct Case {
    nlohmann::json body;
    const char* message;
  };
  std::string long_text(60, 'a');
  for (int i = 0; i < 30; ++i) long_text += " b";  // (std::string(" b", 30) would read 30 bytes of a 3-byte literal)
  const Case cases[] = {
      {{{"input", std::vector<int>(41, 5)}}, "input 0 has 41 tokens, but the model's context is 40 tokens"},
      {{{"input", {"fine", long_text}}}, "input 1 has"},
      {{{"input", ""}}, "'input' must not contain an empty string"},
      {{{"input", nlohmann::json::array()}}, "'input' must be a non-empty string"},
      {{{"input", {1, 2, 1000}}}, "'input' token 1000 is not an id in [0, 160)"},
      {{{"input", {{1, 2}, nlohmann::json::array()}}}, "empty token list"},
      {{{"input", {{{"a", 1}}}}}, "'input' must be a string, a list of strings, or token-id lists"},
      {{{"model", "x"}}, "'input' is required"},
      {{{"input", "hi"}, {"encoding_format", "int8"}}, "'encoding_format' must be 'float' or 'base64'"},
      {{{"input", "hi"}, {"dimensions", 8}}, "'dimensions' is not supported"},
  };
  for (const Case& c : cases) {
    const auto out = post("/v1/embeddings", c.body, 400);
    if (!out.contains("error")) continue;
    EXPECT_NE(out.at("error").at("message").get<std::string>().find(c.message), std::string::npos)
        << c.body.dump() << " -> " << out.dump();
  }
}

TEST_F(EmbeddingsServer, TheOtherEndpointsKnowTheModelServesEmbeddings) {
  const auto completion = post("/v1/completions", {{"prompt", "hi"}}, 400);
  EXPECT_NE(completion.dump().find("the model is served for embeddings: it answers /v1/embeddings, not completions"),
            std::string::npos);
  httplib::Client client = server_->client();
  const auto models = client.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(nlohmann::json::parse(models->body).at("data")[0].at("max_model_len"), 40);
  EXPECT_EQ(nlohmann::json::parse(models->body).at("data")[0].at("endpoints"), nlohmann::json({"/v1/embeddings"}));
  const auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

}  // namespace
}  // namespace genrt
