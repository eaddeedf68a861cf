// `genrt embed`, `genrt fill-mask` and `genrt info` as a user runs them, on the tiny BERT of
// tools/golden/bert.py: the embedding printed is transformers' pooled embedding, and the
// fill-mask candidates are the masked-LM logits' softmax, best first.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <sstream>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

struct CliOutput {
  int exit_code = -1;
  std::string output;
};

CliOutput run_genrt(const std::string& args) {
  CliOutput run;
  FILE* pipe = ::popen((std::string(GENRT_CLI) + " " + args + " 2>/dev/null").c_str(), "r");
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string bert() { return (test::data_dir() / "tiny_bert").string(); }
nlohmann::json golden() { return read_json_file(test::data_dir() / "tiny_bert" / "golden.json"); }

TEST(EncoderCli, EmbedPrintsTransformersPooledEmbeddingPerText) {
  const auto inputs = golden().at("inputs");
  const std::string a = inputs[0].at("text"), b = inputs[2].at("text");
  const CliOutput run = run_genrt("embed --model " + bert() + " --text '" + a + "' --text '" + b + "'");
  ASSERT_EQ(run.exit_code, 0);
  std::istringstream lines(run.output);
  std::string line;
  for (const size_t i : {0, 2}) {
    ASSERT_TRUE(std::getline(lines, line));
    std::istringstream numbers(line);
    std::vector<float> got((std::istream_iterator<float>(numbers)), std::istream_iterator<float>());
    const auto want = inputs[i].at("embedding").get<std::vector<float>>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t d = 0; d < want.size(); ++d) EXPECT_NEAR(got[d], want[d], 1e-5f) << "text " << i << " dim " << d;
  }
  EXPECT_FALSE(std::getline(lines, line)) << "one line per text";

  const CliOutput json = run_genrt("embed --json --model " + bert() + " --text '" + a + "'");
  ASSERT_EQ(json.exit_code, 0);
  const auto out = nlohmann::json::parse(json.output);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].at("tokens"), inputs[0].at("ids").size());
  EXPECT_EQ(out[0].at("embedding").size(), 32u);
}

TEST(EncoderCli, InfoDescribesTheEncoder) {
  const CliOutput run = run_genrt("info --json --model " + bert());
  ASSERT_EQ(run.exit_code, 0);
  const auto out = nlohmann::json::parse(run.output);
  EXPECT_EQ(out.at("architecture"), "BertForMaskedLM");
  EXPECT_EQ(out.at("parameters"), 24896);  // transformers' num_parameters() of the same folder
  EXPECT_EQ(out.at("context"), 40);
  EXPECT_EQ(out.at("pooling"), "mean");
  EXPECT_EQ(out.at("normalized"), true);
}

TEST(EncoderCli, FillMaskRanksTheMaskedLmLogits) {
  const auto input = golden().at("inputs")[1];  // "Paris is the [MASK] of France."
  const auto ids = input.at("ids").get<std::vector<int32_t>>();
  const size_t mask = std::find(ids.begin(), ids.end(), 4) - ids.begin();
  const auto logits = input.at("mlm_logits")[mask].get<std::vector<float>>();
  std::vector<double> p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp(double(logits[i]));
  const CliOutput run = run_genrt("fill-mask --json --top-k 3 --model " + bert() + " --text '" +
                            input.at("text").get<std::string>() + "'");
  ASSERT_EQ(run.exit_code, 0);
  const auto out = nlohmann::json::parse(run.output);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].at("position"), mask);
  const auto& candidates = out[0].at("candidates");
  ASSERT_EQ(candidates.size(), 3u);
  const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
  EXPECT_EQ(candidates[0].at("id"), best);
  for (const auto& c : candidates) {
    EXPECT_NEAR(c.at("probability").get<double>(), p[c.at("id").get<size_t>()] / sum, 1e-5);
  }
  EXPECT_GE(candidates[0].at("probability"), candidates[1].at("probability"));
  EXPECT_GE(candidates[1].at("probability"), candidates[2].at("probability"));

  const CliOutput plain = run_genrt("fill-mask --model " + bert() + " --text '[MASK] is here'");
  ASSERT_EQ(plain.exit_code, 0);
  EXPECT_NE(plain.output.find("[MASK] at token 1:"), std::string::npos) << plain.output;
}

}  // namespace
}  // namespace genrt
