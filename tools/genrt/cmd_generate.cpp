// genrt generate: stream a model's continuation of a prompt.

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/grammar/json_schema_grammar.h"
#include "runtime/grammar/token_grammar.h"
#include "runtime/io/json_file.h"
#include "runtime/tokenizer/stream_decoder.h"
#include "tools/genrt/commands.h"
#include "tools/genrt/common.h"

namespace genrt::cli {

namespace {

struct GenerateOptions {
  std::string model;
  std::string tokenizer;
  std::optional<std::string> prompt;
  std::optional<std::string> prompt_ids;
  SamplingOptions sampling;
  DeviceFlags device;
  bool json = false;
  bool ignore_eos = false;
  std::string grammar;      // a GBNF file
  std::string json_schema;  // a JSON Schema file
};

// The grammar the continuation follows (--grammar, or --json-schema compiled to one) over
// the model's vocabulary; null without either.
std::shared_ptr<grammar::TokenGrammar> constrained_decoding(const GenerateOptions& o, const LoadedModel& loaded) {
  if (o.grammar.empty() && o.json_schema.empty()) return nullptr;
  const char* option = o.grammar.empty() ? "--json-schema" : "--grammar";
  GENRT_CHECK(loaded.tokenizer != nullptr, "{} needs the model's tokenizer (the grammar is over text)", option);
  std::string gbnf;
  try {
    gbnf = o.grammar.empty() ? grammar::json_schema_gbnf(read_ordered_json_file(o.json_schema))
                             : read_text_file(o.grammar);
    return grammar::TokenGrammar::from_gbnf(
        gbnf, std::make_shared<const grammar::TokenVocabulary>(*loaded.tokenizer, loaded.model->spec().vocab_size));
  } catch (const Error& e) {
    fail("{} {}: {}", option, o.grammar.empty() ? o.json_schema : o.grammar, e.what());
  }
}

void run_generate(const GenerateOptions& o) {
  const LoadedModel loaded = load_model(o.model, o.tokenizer, o.device);
  const ModelSpec& spec = loaded.model->spec();

  GenerationRequest request;
  if (o.prompt_ids) {
    request.prompt = parse_int_list(*o.prompt_ids, "--prompt-ids", "token id");
  } else {
    GENRT_CHECK(loaded.tokenizer != nullptr,
                "--prompt needs a tokenizer, and there is no tokenizer.json or tokenizer.bin with {}; "
                "pass --tokenizer PATH, or give token ids with --prompt-ids",
                o.model);
    request.prompt = loaded.tokenizer->encode(*o.prompt, /*add_special=*/true);
  }
  request.max_new_tokens = o.sampling.max_tokens;
  request.sampling = resolve_sampling(o.sampling);
  request.ignore_eos = o.ignore_eos;
  request.grammar = constrained_decoding(o, loaded);

  const int64_t block_size = 16;
  KvCache cache = loaded.model->make_kv_cache(kv_blocks_needed({&request, 1}, block_size), block_size);
  Generator generator(*loaded.model, cache);

  std::optional<StreamDecoder> stream;
  if (loaded.tokenizer) stream.emplace(*loaded.tokenizer, loaded.model->spec().text_context(request.prompt));
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
    const nlohmann::json out = {
        {"token_ids", results[0].tokens},
        {"text", loaded.tokenizer ? nlohmann::json(text) : nlohmann::json(nullptr)},
        {"prompt_tokens", stats.prompt_tokens},
        {"generated_tokens", stats.generated_tokens},
        {"ttft_ms", stats.ttft_ms},
        {"tokens_per_s", stats.tokens_per_s},
        {"finish_reason", finish_reason_name(results[0].finish_reason)},
        {"device", o.device.device},
        {"random_weights", spec.random_weights},
    };
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s\n", tail.c_str());
    print_stats(stats, results[0].finish_reason, loaded, o.device.device);
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
      ->check(CLI::ExistingPath);
  auto* prompt = cmd->add_option("--prompt", o->prompt,
                                 "Prompt text (needs a tokenizer; its special tokens, e.g. BOS, are added)");
  auto* ids = cmd->add_option("--prompt-ids", o->prompt_ids,
                              "Prompt as comma-separated token ids, used verbatim (no BOS added)");
  prompt->excludes(ids);
  ids->excludes(prompt);
  add_sampling_options(cmd, o->sampling);
  add_device_options(cmd, o->device);
  add_cuda_graph_option(cmd, o->device);
  auto* ignore_eos = cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past end-of-sequence tokens");
  auto* grammar = cmd->add_option("--grammar", o->grammar,
                                  "Constrain the continuation to a GBNF grammar (llama.cpp's notation; start rule "
                                  "`root`); it ends where the grammar is complete and nothing may follow, and within "
                                  "--max-tokens when the budget can hold a complete sentence")
                      ->check(CLI::ExistingFile);
  auto* schema = cmd->add_option("--json-schema", o->json_schema,
                                 "Constrain the continuation to a JSON document of this JSON Schema (the subset "
                                 "README.md's Structured output lists)")
                     ->check(CLI::ExistingFile);
  grammar->excludes(schema)->excludes(ignore_eos);
  schema->excludes(ignore_eos);
  cmd->add_flag("--json", o->json,
                "Print one JSON object (token_ids, text, prompt_tokens, generated_tokens, ttft_ms, "
                "tokens_per_s) instead of streaming");
  cmd->callback([prompt, ids] {
    if (prompt->count() == 0 && ids->count() == 0) throw CLI::RequiredError("--prompt or --prompt-ids");
  });
  return {cmd, [o] { run_generate(*o); }};
}

}  // namespace genrt::cli
