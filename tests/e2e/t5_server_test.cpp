// T5 through genrt serve: completions of several prompts in one request (batched by the
// engine, each with its own encoder input) give transformers' greedy text, which starts a
// text of its own (no space carried over from the prompt).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/tokenizer/load_tokenizer.h"
#include "tests/e2e/test_server.h"

namespace genrt {
namespace {

using nlohmann::json;

TEST(T5Server, CompletionsGiveTransformersGreedyText) {
  const auto dir = test::data_dir() / "tiny_t5";
  test::TestServer server(dir, {.scheduler = {.max_batch_tokens = 256, .max_running = 8}, .kv_cache_tokens = 4096});
  const json cases = read_json_file(dir / "golden.json").at("cases");
  json request = {{"prompt", json::array()}, {"max_tokens", 10}, {"temperature", 0}, {"ignore_eos", true}};
  for (const json& c : cases) request["prompt"].push_back(c.at("input"));
  const auto res = server.client().Post("/v1/completions", request.dump(), "application/json");
  ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no response");
  const json r = json::parse(res->body);
  const Tokenizer& tokenizer = server.engine().tokenizer();
  ASSERT_EQ(r["choices"].size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(r["choices"][i]["text"], tokenizer.decode(cases[i].at("greedy_ids").get<std::vector<int32_t>>(), true)) << i;
  }
  EXPECT_EQ(r["usage"]["completion_tokens"], 30);
}

}  // namespace
}  // namespace genrt
