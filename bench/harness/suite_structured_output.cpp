// The structured-output suite: what a grammar costs a decode step. A random-weight model
// over a real tokenizer's vocabulary (--tokenizer) decodes a batch of JSON documents of one
// schema; the line reports the decode step with and without the grammar, and the token
// masks alone: the sequences' tokens replayed through fresh matchers, every step's masks
// timed, cold (a grammar nobody has used: each new state walks the vocabulary) and warm
// (its masks cached, as for the second request with a schema the server has seen).

#include <chrono>
#include <numeric>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bench/harness/suites.h"
#include "runtime/engine/generator.h"
#include "runtime/grammar/gbnf.h"
#include "runtime/grammar/json_schema_grammar.h"
#include "runtime/grammar/token_grammar.h"
#include "runtime/models/llama/llama_init.h"
#include "runtime/tokenizer/load_tokenizer.h"

namespace genrt::bench {

namespace {

const std::vector<std::string> kGpuCases = {"stories15m:32", "tinyllama-1.1b:32"};
const std::vector<std::string> kCpuCases = {"stories15m:32"};
// Each sequence stops after kNewTokens tokens of a budget of kMaxTokens: a request's
// max_tokens is usually far above its document, and a budget that tight would have the
// masks filtered for it at every step (tests/unit/grammar_test.cpp checks those).
constexpr int64_t kPromptTokens = 16, kNewTokens = 48, kMaxTokens = 1024;

// A schema whose documents run long: free text in strings and arrays, so masks are walked
// inside strings, between keys and in numbers.
constexpr const char* kSchema = R"({"type":"object","required":["title","tags","rating","notes"],
  "properties":{"title":{"type":"string"},"tags":{"type":"array","items":{"enum":["news","sport","tech"]}},
  "rating":{"type":"number"},"notes":{"type":"array","items":{"type":"string"}}}})";

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct DecodeRun {
  double step_ms = 0;  // wall time per decode step, the median over runs
  std::vector<std::vector<int32_t>> tokens;
};

DecodeRun decode(const CausalLM& model, int64_t batch, const std::shared_ptr<grammar::TokenGrammar>& grammar) {
  std::vector<GenerationRequest> requests;
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<int32_t> prompt(kPromptTokens);
    std::iota(prompt.begin(), prompt.end(), static_cast<int32_t>(100 + b));
    requests.push_back({.prompt = prompt,
                        .max_new_tokens = kMaxTokens,
                        .sampling = {.temperature = 1.0f, .seed = static_cast<uint64_t>(b)},
                        .ignore_eos = grammar == nullptr,
                        .grammar = grammar});
  }
  KvCache cache = model.make_kv_cache(kv_blocks_needed(requests, 16), 16);
  Generator generator(model, cache);
  DecodeRun out;
  std::vector<double> steps;
  for (int r = 0; r <= 3; ++r) {  // the first run warms up
    GenerationStats stats;
    std::vector<int64_t> generated(static_cast<size_t>(batch));
    const auto results = generator.generate(
        requests, [&](size_t i, int32_t) { return ++generated[i] < kNewTokens; }, &stats);
    if (r == 0) {
      for (const auto& result : results) out.tokens.push_back(result.tokens);
      continue;
    }
    const double steps_run = static_cast<double>(stats.generated_tokens) / static_cast<double>(batch) - 1;
    steps.push_back(stats.decode_ms / std::max(steps_run, 1.0));
  }
  out.step_ms = summarize(steps).median_ms;
  return out;
}

// Every step's masks for the batch, replaying each sequence's tokens through a matcher of
// `grammar`: the mean milliseconds per step.
double mask_ms_per_step(const std::shared_ptr<grammar::TokenGrammar>& grammar,
                        const std::vector<std::vector<int32_t>>& tokens, const std::vector<int32_t>& eos) {
  std::vector<grammar::GrammarMatcher> matchers;
  for (size_t b = 0; b < tokens.size(); ++b) matchers.emplace_back(grammar, eos);
  size_t steps = 0;
  for (const auto& t : tokens) steps = std::max(steps, t.size());
  const auto start = Clock::now();
  for (size_t step = 0; step < steps; ++step) {
    for (size_t b = 0; b < tokens.size(); ++b) {
      if (step >= tokens[b].size()) continue;
      static_cast<void>(matchers[b].allowed_tokens(kMaxTokens - static_cast<int64_t>(step)));
      matchers[b].accept(tokens[b][step]);
    }
  }
  return ms_since(start) / static_cast<double>(std::max<size_t>(steps, 1));
}

}  // namespace

std::vector<nlohmann::json> run_structured_output_suite(BenchRun& run) {
  const std::string& tokenizer_path = run.options().tokenizer;
  GENRT_CHECK(!tokenizer_path.empty(),
              "the structured-output suite needs --tokenizer: a tokenizer.json (or a directory with one) whose "
              "vocabulary the grammar's masks walk, e.g. GPT-2's or Llama's");
  const auto tokenizer = open_tokenizer(tokenizer_path, std::numeric_limits<int32_t>::max());
  const auto cases = preset_batches_for(run, kGpuCases, kCpuCases, "PRESET:BATCH");
  std::vector<nlohmann::json> lines;
  for (const PresetBatch& c : cases) {
    LlamaConfig config = llama_preset(c.preset);
    config.vocab_size = tokenizer->vocab_size();  // the tokenizer's vocabulary and end token, random weights
    config.eos_token_ids.clear();
    if (const auto eos = tokenizer->eos_id()) config.eos_token_ids = {*eos};
    spdlog::info("structured-output: {} with a vocabulary of {} on {}", c.preset, config.vocab_size,
                 device_name(run.device().device()));
    LlamaModel model = random_llama_model(config, 0, {.device = run.device().device(), .dtype = run.options().dtype,
                                                      .max_step_seqs = std::max<int64_t>(c.batch, 256)});
    auto start = Clock::now();
    const auto vocabulary = std::make_shared<const grammar::TokenVocabulary>(*tokenizer, config.vocab_size);
    const double vocabulary_ms = ms_since(start);
    const auto parsed = std::make_shared<const grammar::Grammar>(
        grammar::parse_gbnf(grammar::json_schema_gbnf(nlohmann::ordered_json::parse(kSchema))));
    const auto fresh = [&] { return std::make_shared<grammar::TokenGrammar>(parsed, vocabulary); };

    const DecodeRun plain = decode(model, c.batch, nullptr);
    const DecodeRun constrained = decode(model, c.batch, fresh());
    std::vector<int32_t> eos = model.spec().eos_token_ids;
    const double cold_ms = mask_ms_per_step(fresh(), constrained.tokens, eos);
    const auto warm = fresh();
    mask_ms_per_step(warm, constrained.tokens, eos);
    const double warm_ms = mask_ms_per_step(warm, constrained.tokens, eos);

    nlohmann::json line = run.base_line("structured-output", "decode_with_grammar",
                                        {{"preset", c.preset}, {"batch", c.batch}, {"vocab", config.vocab_size}});
    line["x"] = c.batch;
    line["x_name"] = "batch";
    line["series"] = c.preset + ", vocab " + std::to_string(config.vocab_size);
    line["median_ms"] = constrained.step_ms;
    line["metric"] = "mask share of a decode step";
    line["value"] = warm_ms / plain.step_ms;
    line["new_tokens"] = kNewTokens;
    line["max_tokens"] = kMaxTokens;
    line["decode_step_ms"] = plain.step_ms;
    line["decode_step_with_grammar_ms"] = constrained.step_ms;
    line["mask_ms_per_step_warm"] = warm_ms;
    line["mask_ms_per_step_cold"] = cold_ms;
    line["vocabulary_build_ms"] = vocabulary_ms;
    line["schema"] = nlohmann::json::parse(kSchema);
    line["check"] = {{"skipped", "random weights: tests/unit/grammar_test.cpp checks every mask against the "
                                 "tokens fed one by one"}};
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace genrt::bench
