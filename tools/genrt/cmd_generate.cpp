// genrt generate: stream a model's continuation of a prompt.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "runtime/engine/generator.h"
#include "runtime/models/load_model.h"
#include "runtime/tokenizer/load_tokenizer.h"
#include "runtime/tokenizer/stream_decoder.h"
#include "tools/genrt/commands.h"

namespace genrt::cli {

namespace {

struct GenerateOptions {
  std::string model;
  std::string tokenizer;
  std::string prompt;
  std::string prompt_ids;
  int64_t max_tokens = 256;
  SamplingParams sampling;
  std::optional<uint64_t> seed;
  std::string device = "cpu";
  bool json = false;
  bool ignore_eos = false;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    GENRT_CHECK(used == item.size() && !item.empty() && value >= 0 && value <= INT32_MAX,
                "--prompt-ids: '{}' is not a token id (expected comma-separated integers like 1,2,3)",
                item);
    ids.push_back(static_cast<int32_t>(value));
    pos = comma + 1;
  }
  return ids;
}

void run_generate(const GenerateOptions& o) {
  const Device device = parse_device(o.device);
  GENRT_CHECK(device == Device::cpu,
              "--device cuda: this build of genrt runs models on the CPU reference backend only; "
              "the CUDA backend has not landed yet (use --device cpu)");

  const auto load_start = std::chrono::steady_clock::now();
  const std::unique_ptr<CausalLM> model = load_causal_lm(o.model);
  const ModelSpec& spec = model->spec();
  spdlog::info("loaded {} ({}, {:.1f}M parameters) in {:.0f} ms", o.model, spec.architecture,
               spec.parameter_count / 1e6,
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count());
  if (spec.random_weights) {
    spdlog::warn("{} has random weights (made by genrt init-model): its output is gibberish", o.model);
  }

  std::unique_ptr<Tokenizer> tokenizer;
  const auto tokenizer_path =
      o.tokenizer.empty() ? find_tokenizer(o.model) : std::optional(std::filesystem::path(o.tokenizer));
  if (tokenizer_path) {
    tokenizer = open_tokenizer(*tokenizer_path, spec.vocab_size);
    spdlog::debug("tokenizer {}", tokenizer_path->string());
  }

  GenerationRequest request;
  if (!o.prompt_ids.empty()) {
    request.prompt = parse_ids(o.prompt_ids);
  } else {
    GENRT_CHECK(tokenizer != nullptr,
                "--prompt needs a tokenizer, and there is no tokenizer.json or tokenizer.bin with {}; "
                "pass --tokenizer PATH, or give token ids with --prompt-ids",
                o.model);
    request.prompt = tokenizer->encode(o.prompt, /*add_special=*/true);
  }
  request.max_new_tokens = o.max_tokens;
  request.sampling = o.sampling;
  request.sampling.seed = o.seed.value_or(std::random_device{}());
  request.ignore_eos = o.ignore_eos;
  if (!o.seed && o.sampling.temperature > 0) spdlog::info("seed {} (pass --seed to repeat this run)", request.sampling.seed);

  const int64_t block_size = 16;
  KvCache cache(spec.kv_cache_shape(kv_blocks_needed({&request, 1}, block_size), block_size), Device::cpu);
  Generator generator(*model, cache);

  std::optional<StreamDecoder> stream;
  if (tokenizer) stream.emplace(*tokenizer, request.prompt);
  std::string text;
  auto on_token = [&](size_t, int32_t token) {
    if (stream) {
      const std::string piece = stream->push(token);
      text += piece;
      if (!o.json) std::fputs(piece.c_str(), stdout);
    } else if (!o.json) {
      std::printf("%d ", token);
    }
    if (!o.json) std::fflush(stdout);
    return true;
  };
  GenerationStats stats;
  const auto results = generator.generate({&request, 1}, on_token, &stats);
  const std::string tail = stream ? stream->finish() : "";
  text += tail;

  if (o.json) {
    nlohmann::json out = {
        {"token_ids", results[0].tokens},
        {"text", tokenizer ? nlohmann::json(text) : nlohmann::json(nullptr)},
        {"prompt_tokens", stats.prompt_tokens},
        {"generated_tokens", stats.generated_tokens},
        {"ttft_ms", stats.ttft_ms},
        {"tokens_per_s", stats.tokens_per_s},
        {"finish_reason", finish_reason_name(results[0].finish_reason)},
        {"device", device_name(device)},
        {"random_weights", spec.random_weights},
    };
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s\n", tail.c_str());
    std::fflush(stdout);  // the stats line on stderr comes after the text
    std::fprintf(stderr,
                 "[genrt] prompt %lld tokens, generated %lld tokens (%s), TTFT %.1f ms, %.1f "
                 "tokens/s on %s%s\n",
                 static_cast<long long>(stats.prompt_tokens),
                 static_cast<long long>(stats.generated_tokens),
                 finish_reason_name(results[0].finish_reason), stats.ttft_ms, stats.tokens_per_s,
                 std::string(device_name(device)).c_str(),
                 spec.random_weights ? " (random weights: gibberish)" : "");
  }
}

}  // namespace

Command add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text from a prompt, streaming it to stdout");
  cmd->add_option("--model", o->model,
                  "Model: a Hugging Face directory (config.json + safetensors) or a llama2.c .bin")
      ->required();
  cmd->add_option("--tokenizer", o->tokenizer,
                  "tokenizer.json (or a directory with one) or llama2.c tokenizer.bin (default: the "
                  "model directory's tokenizer.json, else tokenizer.bin in or beside the model)")
      ->check(CLI::ExistingFile);
  auto* prompt = cmd->add_option("--prompt", o->prompt,
                                 "Prompt text (needs a tokenizer; its special tokens, e.g. BOS, are added)");
  auto* ids = cmd->add_option("--prompt-ids", o->prompt_ids,
                              "Prompt as comma-separated token ids, used verbatim (no BOS added)");
  prompt->excludes(ids);
  ids->excludes(prompt);
  cmd->add_option("--max-tokens", o->max_tokens, "Most tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", o->sampling.temperature, "Sampling temperature; 0 is greedy")
      ->capture_default_str();
  cmd->add_option("--top-k", o->sampling.top_k, "Keep the k most likely tokens; 0 keeps all")
      ->capture_default_str();
  cmd->add_option("--top-p", o->sampling.top_p, "Nucleus sampling mass; 1 disables it")
      ->capture_default_str();
  cmd->add_option("--min-p", o->sampling.min_p,
                  "Drop tokens less likely than min-p x the top token's probability; 0 disables it")
      ->capture_default_str();
  cmd->add_option("--repetition-penalty", o->sampling.repetition_penalty,
                  "Penalty > 1 for tokens already in the context; 1 disables it")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed (default: random, and logged)");
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past end-of-sequence tokens");
  cmd->add_flag("--json", o->json,
                "Print one JSON object (token_ids, text, prompt_tokens, generated_tokens, ttft_ms, "
                "tokens_per_s) instead of streaming");
  cmd->callback([prompt, ids] {
    if (prompt->count() == 0 && ids->count() == 0) {
      throw CLI::RequiredError("--prompt or --prompt-ids");
    }
  });
  return {cmd, [o] { run_generate(*o); }};
}

}  // namespace genrt::cli
