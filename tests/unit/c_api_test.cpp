// The C API (include/genrt/genrt.h): every misuse is a status with a message, never a
// crash; a cancelling callback stops generation and leaves the model usable.

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "genrt/genrt.h"
#include "tests/test_util.h"

namespace {

std::string stories() { return (genrt::test::shared_dir() / "models" / "stories260K.bin").string(); }

TEST(CApi, VersionMatchesTheHeader) {
  EXPECT_EQ(std::string(genrt_version()), std::to_string(GENRT_VERSION_MAJOR) + "." +
                                              std::to_string(GENRT_VERSION_MINOR) + "." +
                                              std::to_string(GENRT_VERSION_PATCH));
}

TEST(CApi, LoadErrorsAreStatusesWithMessages) {
  genrt_model* model = reinterpret_cast<genrt_model*>(0x1);
  EXPECT_EQ(genrt_model_load("/nonexistent", nullptr, &model), GENRT_ERROR_MODEL);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::string(genrt_last_error()).find("/nonexistent does not exist"), std::string::npos);
  EXPECT_EQ(genrt_model_load(nullptr, nullptr, &model), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(genrt_model_load(stories().c_str(), nullptr, nullptr), GENRT_ERROR_INVALID_ARGUMENT);

  genrt_load_options options;
  genrt_load_options_init(&options);
  options.device = 7;
  EXPECT_EQ(genrt_model_load(stories().c_str(), &options, &model), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(genrt_last_error()).find("unknown device 7"), std::string::npos);
  genrt_load_options_init(&options);
  options.device = GENRT_DEVICE_CUDA;
  EXPECT_EQ(genrt_model_load(stories().c_str(), &options, &model), GENRT_ERROR_UNSUPPORTED);
  genrt_load_options_init(&options);
  options.gpu_memory_fraction = 1.5f;
  EXPECT_EQ(genrt_model_load(stories().c_str(), &options, &model), GENRT_ERROR_INVALID_ARGUMENT);
  options.struct_size = 4;
  EXPECT_EQ(genrt_model_load(stories().c_str(), &options, &model), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(genrt_last_error()).find("struct_size"), std::string::npos);
}

TEST(CApi, HandlesAreCheckedAndDoubleFreeIsCaught) {
  genrt_model* model = nullptr;
  ASSERT_EQ(genrt_model_load(stories().c_str(), nullptr, &model), GENRT_OK) << genrt_last_error();
  genrt_memory_usage usage{sizeof(genrt_memory_usage), 0, 0};
  EXPECT_EQ(genrt_model_memory(model, &usage), GENRT_OK);
  EXPECT_GT(usage.weights_bytes, 1000000u);
  EXPECT_EQ(usage.kv_cache_bytes_per_token, 2u * 5 * 4 * 8 * 4);  // K+V, 5 layers, 4 heads x 8, fp32
  EXPECT_EQ(genrt_model_free(model), GENRT_OK);
  EXPECT_EQ(genrt_model_free(model), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(genrt_model_memory(model, &usage), GENRT_ERROR_INVALID_ARGUMENT);  // use after free
  EXPECT_NE(std::string(genrt_last_error()).find("not a live genrt_model"), std::string::npos);
  EXPECT_EQ(genrt_model_free(nullptr), GENRT_OK);
  int32_t ids[4];
  size_t count = 0;
  EXPECT_EQ(genrt_tokenize(nullptr, "x", 1, 1, ids, 4, &count), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(genrt_generate(nullptr, "x", nullptr, nullptr, nullptr, nullptr), GENRT_ERROR_INVALID_ARGUMENT);
}

int count_and_cancel_at_5(void* user_data, int32_t, const char*, size_t) {
  return ++*static_cast<int*>(user_data) >= 5;
}

TEST(CApi, GenerationCancelledByTheCallbackLeavesTheModelUsable) {
  genrt_model* model = nullptr;
  ASSERT_EQ(genrt_model_load(stories().c_str(), nullptr, &model), GENRT_OK) << genrt_last_error();
  genrt_sampling sampling;
  genrt_sampling_init(&sampling);
  sampling.max_tokens = 64;
  sampling.temperature = 0;
  const int32_t bos = 1;
  int seen = 0;
  genrt_generation_result result{};
  result.struct_size = sizeof(result);
  ASSERT_EQ(genrt_generate_ids(model, &bos, 1, &sampling, count_and_cancel_at_5, &seen, &result), GENRT_OK);
  EXPECT_EQ(result.generated_tokens, 5);
  EXPECT_EQ(result.finish_reason, GENRT_FINISH_CANCELLED);
  // The next generation runs in full.
  ASSERT_EQ(genrt_generate_ids(model, &bos, 1, &sampling, nullptr, nullptr, &result), GENRT_OK);
  EXPECT_EQ(result.generated_tokens, 64);
  sampling.top_p = 0;
  EXPECT_EQ(genrt_generate_ids(model, &bos, 1, &sampling, nullptr, nullptr, &result), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(genrt_last_error()).find("top_p must be in (0, 1]"), std::string::npos);
  EXPECT_EQ(genrt_generate(model, "text", nullptr, nullptr, nullptr, nullptr), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(genrt_last_error()).find("no tokenizer"), std::string::npos);
  EXPECT_EQ(genrt_model_free(model), GENRT_OK);
}

// `genrt init-model --preset tiny` into `dir`: a random-weight Llama with a byte-level tokenizer.
void write_tiny_model(const genrt::test::TempDir& dir) {
  const std::string init = std::string(GENRT_CLI) + " init-model --preset tiny --out " + dir.path().string() +
                           " --log-level error > /dev/null";
  ASSERT_EQ(std::system(init.c_str()), 0);
}

TEST(CApi, TokenizeAndDetokenizeWithTheTwoCallPattern) {
  genrt::test::TempDir dir;
  write_tiny_model(dir);
  genrt_model* model = nullptr;
  ASSERT_EQ(genrt_model_load(dir.path().c_str(), nullptr, &model), GENRT_OK) << genrt_last_error();
  const char* text = "Once upon a time";
  size_t count = 0;
  EXPECT_EQ(genrt_tokenize(model, text, 16, 1, nullptr, 0, &count), GENRT_ERROR_BUFFER_TOO_SMALL);
  ASSERT_GT(count, 2u);
  std::vector<int32_t> ids(count);
  ASSERT_EQ(genrt_tokenize(model, text, 16, 1, ids.data(), ids.size(), &count), GENRT_OK);
  EXPECT_EQ(ids[0], 0);  // BOS
  size_t length = 0;
  EXPECT_EQ(genrt_detokenize(model, ids.data(), ids.size(), nullptr, 0, &length), GENRT_ERROR_BUFFER_TOO_SMALL);
  std::string out(length + 1, '\0');
  ASSERT_EQ(genrt_detokenize(model, ids.data(), ids.size(), out.data(), out.size(), &length), GENRT_OK);
  EXPECT_STREQ(out.c_str(), text);
  const int32_t bad = 99999;
  EXPECT_EQ(genrt_detokenize(model, &bad, 1, out.data(), out.size(), &length), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(genrt_model_free(model), GENRT_OK);

  genrt_load_options options;
  genrt_load_options_init(&options);
  const std::string gpt2 = (genrt::test::shared_dir() / "tokenizers" / "gpt2").string();
  options.tokenizer = gpt2.c_str();
  EXPECT_EQ(genrt_model_load(dir.path().c_str(), &options, &model), GENRT_ERROR_MODEL);
  EXPECT_NE(std::string(genrt_last_error()).find("beyond the model's vocabulary of 512"), std::string::npos);
}

int append_text(void* user_data, int32_t, const char* text, size_t length) {
  static_cast<std::string*>(user_data)->append(text, length);
  return 0;
}

// A random-weight model's output through a JSON schema or a grammar, and the errors of
// asking for both or for a schema genrt cannot enforce; a caller built against the struct
// before these fields (a smaller struct_size) still generates.
TEST(CApi, StructuredGenerationFollowsTheSchemaOrTheGrammar) {
  genrt::test::TempDir dir;
  write_tiny_model(dir);
  genrt_model* model = nullptr;
  ASSERT_EQ(genrt_model_load(dir.path().c_str(), nullptr, &model), GENRT_OK) << genrt_last_error();
  genrt_sampling sampling;
  genrt_sampling_init(&sampling);
  sampling.max_tokens = 80;
  sampling.seed = 4;
  sampling.json_schema = R"({"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer"}},
                             "required":["ok","n"]})";
  std::string text;
  genrt_generation_result result{};
  result.struct_size = sizeof(result);
  ASSERT_EQ(genrt_generate(model, "JSON:", &sampling, append_text, &text, &result), GENRT_OK) << genrt_last_error();
  const nlohmann::json doc = nlohmann::json::parse(text);
  EXPECT_TRUE(doc.at("ok").is_boolean() && doc.at("n").is_number()) << text;

  sampling.json_schema = nullptr;
  sampling.grammar = R"(root ::= ("yes" | "no") "!")";
  text.clear();
  ASSERT_EQ(genrt_generate(model, "Answer:", &sampling, append_text, &text, &result), GENRT_OK) << genrt_last_error();
  EXPECT_TRUE(text == "yes!" || text == "no!") << text;
  EXPECT_EQ(result.finish_reason, GENRT_FINISH_STOP);

  sampling.json_schema = R"({"type":"string"})";
  EXPECT_EQ(genrt_generate(model, "x", &sampling, nullptr, nullptr, nullptr), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(genrt_last_error()).find("give a grammar or a JSON schema, not both"), std::string::npos);
  sampling.grammar = nullptr;
  sampling.json_schema = R"({"type":"string","pattern":"a+"})";
  EXPECT_EQ(genrt_generate(model, "x", &sampling, nullptr, nullptr, nullptr), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(genrt_last_error()).find("'pattern' is not supported"), std::string::npos);

  sampling.struct_size = offsetof(genrt_sampling, grammar);  // an older caller: the schema is not read
  sampling.max_tokens = 4;
  ASSERT_EQ(genrt_generate(model, "x", &sampling, nullptr, nullptr, &result), GENRT_OK) << genrt_last_error();
  sampling.struct_size = offsetof(genrt_sampling, ignore_eos);
  EXPECT_EQ(genrt_generate(model, "x", &sampling, nullptr, nullptr, nullptr), GENRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(genrt_model_free(model), GENRT_OK);
}

}  // namespace
