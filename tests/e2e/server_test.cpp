// The HTTP server over real loopback HTTP, on the CPU backend with a tiny random-weight
// model (genrt init-model's "tiny" preset): wire format, streaming, stop strings,
// concurrency, cancellation, batching invariance and the error paths.

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "runtime/core/utf8.h"
#include "runtime/models/llama/llama_init.h"
#include "tests/e2e/test_server.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using nlohmann::json;
using test::completion;
using test::metric;
using test::Server;
using test::TestServer;

TEST_F(Server, StreamedTextEqualsTheNonStreamedResult) {
  const json request = completion("Once upon a time", 24);
  const json whole = post("/v1/completions", request);
  EXPECT_EQ(whole["object"], "text_completion");
  EXPECT_EQ(whole["usage"]["completion_tokens"], 24);
  EXPECT_EQ(whole["choices"][0]["finish_reason"], "length");
  const Streamed s = stream("/v1/completions", request);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.text, whole["choices"][0]["text"].get<std::string>());
  EXPECT_EQ(s.chunks.back()["choices"][0]["finish_reason"], "length");

  const json chat = {{"messages", {{{"role", "user"}, {"content", "Hello"}}}}, {"max_tokens", 12}, {"temperature", 0}, {"ignore_eos", true}};
  const json chat_whole = post("/v1/chat/completions", chat);
  EXPECT_EQ(chat_whole["object"], "chat.completion");
  EXPECT_EQ(chat_whole["choices"][0]["message"]["role"], "assistant");
  const Streamed chat_stream = stream("/v1/chat/completions", chat);
  EXPECT_EQ(chat_stream.chunks.front()["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(chat_stream.text, chat_whole["choices"][0]["message"]["content"].get<std::string>());
}

TEST_F(Server, StopStringsSpanningTokensEndTheTextAndAreNotEmitted) {
  // Each streamed chunk is the text one token added: a stop string made of the last
  // character of one chunk and the first of the next spans a token boundary.
  const Streamed tokens = stream("/v1/completions", completion("The robot", 30));
  std::vector<std::string> pieces;
  for (const auto& chunk : tokens.chunks) {
    const std::string t = chunk["choices"][0]["text"];
    if (!t.empty()) pieces.push_back(t);
  }
  ASSERT_GE(pieces.size(), 4u) << tokens.text;
  auto last_char = [](const std::string& s) {
    size_t start = s.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    return s.substr(start);
  };
  auto first_char = [](const std::string& s) {
    size_t end = 1;
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) ++end;
    return s.substr(0, end);
  };
  const std::string stop = last_char(pieces[1]) + first_char(pieces[2]);
  const std::string expected = tokens.text.substr(0, tokens.text.find(stop));
  json stopped = completion("The robot", 30);
  stopped["stop"] = {stop, "a stop that never comes"};
  const json result = post("/v1/completions", stopped);
  EXPECT_EQ(result["choices"][0]["text"], expected);
  EXPECT_EQ(result["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(stream("/v1/completions", stopped).text, expected);
}

TEST_F(Server, SixtyFourConcurrentStreamsFinishWithExactCountsAndFreeTheCache) {
  constexpr int kClients = 64;
  std::vector<Streamed> results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      json r = completion("Story number " + std::to_string(i), 10 + i % 7);
      r["stream_options"] = {{"include_usage", true}};
      results[i] = stream("/v1/completions", r);
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(results[i].done) << "client " << i << " got " << results[i].chunks.size() << " chunks: "
                                 << (results[i].chunks.empty() ? "" : results[i].chunks.back().dump());
    EXPECT_EQ(results[i].chunks.back()["usage"]["completion_tokens"], 10 + i % 7) << "client " << i;
  }
  EXPECT_EQ(server_->kv_blocks_used_when_idle(), 0);
}

TEST_F(Server, CancelledStreamsFreeTheirBlocksAndTheRestComplete) {
  constexpr int kClients = 100;
  const double cancelled_before = metric(*server_, "genrt_sequences_cancelled_total");
  const double tokens_before = metric(*server_, "genrt_generation_tokens_total");
  std::vector<Streamed> results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      // Every tenth client hangs up after three chunks of a long generation.
      results[i] = stream("/v1/completions", completion("Client " + std::to_string(i), i % 10 == 0 ? 480 : 8),
                          i % 10 == 0 ? 3 : 0);
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    if (i % 10 == 0) {
      EXPECT_FALSE(results[i].done);
    } else {
      EXPECT_TRUE(results[i].done) << "client " << i;
    }
  }
  EXPECT_EQ(server_->kv_blocks_used_when_idle(), 0);
  // The ten hung-up sequences were stopped, far short of their 480 tokens.
  EXPECT_EQ(metric(*server_, "genrt_sequences_cancelled_total") - cancelled_before, 10);
  EXPECT_LT(metric(*server_, "genrt_generation_tokens_total") - tokens_before, 90 * 8 + 10 * 240);
}

TEST_F(Server, GreedyOutputDoesNotDependOnBatching) {
  std::vector<std::string> prompts;
  for (int i = 0; i < 12; ++i) prompts.push_back(std::string(static_cast<size_t>(1 + i * 3), 'a' + static_cast<char>(i)));
  std::vector<std::string> alone;
  for (const auto& p : prompts) alone.push_back(post("/v1/completions", completion(p, 16))["choices"][0]["text"]);
  std::vector<std::string> together(prompts.size());
  std::vector<std::thread> clients;
  for (size_t i = prompts.size(); i-- > 0;) {  // reversed arrival order
    clients.emplace_back([&, i] { together[i] = post("/v1/completions", completion(prompts[i], 16))["choices"][0]["text"]; });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(together, alone);
}

TEST_F(Server, NChoicesLogprobsAndModels) {
  json request = completion("Hi", 5);
  request["n"] = 3;
  request["temperature"] = 1.0;
  request["seed"] = 11;
  request["logprobs"] = 2;
  const json r = post("/v1/completions", request);
  ASSERT_EQ(r["choices"].size(), 3u);
  EXPECT_EQ(r["usage"]["completion_tokens"], 15);
  const json& lp = r["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"].size(), 5u);
  EXPECT_LE(lp["token_logprobs"][0].get<double>(), 0.0);
  // Each token's top logprobs: a dict of exactly the 5 asked for, most likely first.
  request["logprobs"] = 5;
  auto raw = server_->client().Post("/v1/completions", request.dump(), "application/json");
  ASSERT_TRUE(raw);
  const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(raw->body);
  for (const auto& top : ordered["choices"][0]["logprobs"]["top_logprobs"]) {
    ASSERT_EQ(top.size(), 5u) << top.dump();
    double previous = 0;
    for (const auto& [token, logprob] : top.items()) {
      EXPECT_LE(logprob.get<double>(), previous) << top.dump();
      previous = logprob.get<double>();
    }
  }

  json chat = {{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 3}, {"logprobs", true}, {"top_logprobs", 2}, {"ignore_eos", true}};
  const json c = post("/v1/chat/completions", chat);
  ASSERT_EQ(c["choices"][0]["logprobs"]["content"].size(), 3u);
  for (const json& token : c["choices"][0]["logprobs"]["content"]) {
    EXPECT_EQ(token["top_logprobs"].size(), 2u);
    std::string bytes;
    for (int b : token["bytes"]) bytes += static_cast<char>(b);
    EXPECT_EQ(utf8_lossy(bytes), token["token"]);
  }

  auto res = server_->client().Get("/v1/models");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["data"][0]["id"], "tiny");
  EXPECT_EQ(json::parse(res->body)["data"][0]["endpoints"], json({"/v1/completions", "/v1/chat/completions"}));
  auto metrics = server_->client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("genrt_time_to_first_token_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics->body.find("genrt_kv_blocks_free"), std::string::npos);
}

TEST_F(Server, ContextLimitIsMaxModelLenMinusOne) {
  const int64_t context = server_->engine().model().spec().context_length;
  json ok = {{"prompt", std::vector<int32_t>(static_cast<size_t>(context - 1), 5)}, {"ignore_eos", true}};
  const json accepted = post("/v1/completions", ok);
  EXPECT_EQ(accepted["usage"]["completion_tokens"], 1);  // the default 16 fits itself to the one position left
  EXPECT_EQ(accepted["choices"][0]["finish_reason"], "length");
  // An explicit limit the context cannot honour is refused, as OpenAI and vLLM do.
  ok["max_tokens"] = 4;
  const json over = post("/v1/completions", ok, 400);
  EXPECT_EQ(over["error"]["message"], "'max_tokens' is 4, but the prompt's 511 tokens leave room for 1 more in this "
                                      "model's context of 512 tokens");
  EXPECT_EQ(over["error"]["param"], "max_tokens");
  json too_long = {{"prompt", std::vector<int32_t>(static_cast<size_t>(context), 5)}};
  const json refused = post("/v1/completions", too_long, 400);
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("at most 511 prompt tokens"), std::string::npos);
  EXPECT_EQ(refused["error"]["param"], "prompt");
}

// Fields genrt does not implement are refused, naming them, never silently ignored; the
// value that asks for nothing is accepted.
TEST_F(Server, UnimplementedFieldsAreRefusedByName) {
  const std::vector<std::tuple<std::string, std::string, json>> asking = {
      {"/v1/completions", "best_of", 3},
      {"/v1/completions", "suffix", " the end"},
      {"/v1/chat/completions", "functions", json::array({{{"name", "f"}}})},
      {"/v1/chat/completions", "function_call", {{"name", "f"}}},
      {"/v1/chat/completions", "modalities", {"text", "audio"}},
      {"/v1/chat/completions", "audio", {{"voice", "alloy"}}},
      {"/v1/chat/completions", "reasoning_effort", "high"},
  };
  for (const auto& [path, field, value] : asking) {
    json request = {{"max_tokens", 1}, {field, value}};
    if (path == "/v1/completions") {
      request["prompt"] = "x";
    } else {
      request["messages"] = {{{"role", "user"}, {"content", "x"}}};
    }
    const json refused = post(path, request, 400);
    EXPECT_EQ(refused["error"]["message"], "'" + field + "' is not supported by genrt yet") << field;
    EXPECT_EQ(refused["error"]["param"], field);
  }
  const json harmless = {{"prompt", "x"}, {"max_tokens", 1}, {"best_of", 1}, {"suffix", ""}};
  EXPECT_EQ(post("/v1/completions", harmless)["usage"]["completion_tokens"], 1);
  const json harmless_chat = {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 1},
                              {"tools", json::array()}, {"tool_choice", "none"}, {"response_format", {{"type", "text"}}},
                              {"modalities", {"text"}}};
  EXPECT_EQ(post("/v1/chat/completions", harmless_chat)["usage"]["completion_tokens"], 1);
  const json stops = post("/v1/completions", {{"prompt", "x"}, {"stop", {"a", "b", "c", "d", "e"}}}, 400);
  EXPECT_EQ(stops["error"]["message"], "at most 4 stop strings, got 5");
  EXPECT_EQ(stops["error"]["param"], "stop");
}

TEST_F(Server, BadRequestsGetOpenAiShapedErrors) {
  auto raw = server_->client().Post("/v1/completions", "{not json", "application/json");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 400);
  EXPECT_NE(json::parse(raw->body)["error"]["message"].get<std::string>().find("not valid JSON"), std::string::npos);
  EXPECT_EQ(post("/v1/completions", {{"prompt", "x"}, {"max_tokens", "ten"}}, 400)["error"]["param"], "max_tokens");
  EXPECT_EQ(post("/v1/completions", {{"prompt", "x"}, {"temperature", 7}}, 400)["error"]["param"], "temperature");
  EXPECT_EQ(post("/v1/completions", {{"prompt", 12}}, 400)["error"]["param"], "prompt");
  EXPECT_EQ(post("/v1/completions", {{"prompt", {1, 99999}}}, 400)["error"]["message"],
            "prompt token id 99999 is outside the vocabulary [0, 512)");
  EXPECT_EQ(post("/v1/completions", {{"prompt", "x"}, {"model", "gpt-4"}}, 404)["error"]["param"], "model");
  EXPECT_EQ(post("/v1/chat/completions", {{"messages", "hi"}}, 400)["error"]["param"], "messages");
  EXPECT_EQ(post("/v1/completions", json::array(), 400)["error"]["type"], "invalid_request_error");
  EXPECT_NE(post("/v1/embeddings", {{"input", "hi"}}, 400)["error"]["message"].get<std::string>().find(
                "the model is served for generation: /v1/embeddings needs an encoder (BERT, RoBERTa), or a decoder "
                "served with --embedding-pooling last"),
            std::string::npos);
  auto missing = server_->client().Get("/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(json::parse(missing->body).contains("error"));
}

TEST(ServerAlone, HealthIs503UntilTheModelIsLoaded) {
  TestServer loading("", {}, {}, /*load=*/false);
  auto health = loading.client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  auto completion_res = loading.client().Post("/v1/completions", R"({"prompt": "x"})", "application/json");
  ASSERT_TRUE(completion_res);
  EXPECT_EQ(completion_res->status, 503);
}

TEST(ServerAlone, ApiKeyAndQueueLimit) {
  test::TempDir dir;
  write_random_llama(llama_preset("tiny"), 7, DType::bf16, dir.path());
  TestServer server(dir.path(), {.scheduler = {.max_batch_tokens = 64, .max_running = 1}, .max_queue = 2},
                    {.api_key = "sekret"});
  httplib::Client c = server.client();
  auto no_key = c.Post("/v1/completions", R"({"prompt": "x"})", "application/json");
  ASSERT_TRUE(no_key);
  EXPECT_EQ(no_key->status, 401);
  EXPECT_EQ(json::parse(no_key->body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(c.Get("/health")->status, 200);  // health and metrics stay open

  // One sequence runs at a time and two may wait: a burst of 12 gets some 429s.
  std::atomic<int> ok{0}, full{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back([&] {
      httplib::Client cc = server.client();
      const httplib::Headers auth = {{"Authorization", "Bearer sekret"}};
      auto res = cc.Post("/v1/completions", auth, completion("x", 60).dump(), "application/json");
      if (res && res->status == 200) ++ok;
      if (res && res->status == 429) {
        ++full;
        EXPECT_EQ(json::parse(res->body)["error"]["type"], "rate_limit_exceeded");
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_GT(full.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(ok + full, 12);
}

}  // namespace
}  // namespace genrt
