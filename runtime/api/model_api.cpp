// The public C++ API (include/genrt/genrt.hpp) over the runtime.

#include <mutex>
#include <new>

#include <nlohmann/json.hpp>

#include "genrt/genrt.hpp"
#include "runtime/api/device_options.h"
#include "runtime/api/translate_errors.h"
#include "runtime/core/error.h"
#include "runtime/engine/generator.h"
#include "runtime/grammar/json_schema_grammar.h"
#include "runtime/grammar/token_grammar.h"
#include "runtime/models/load_model.h"
#include "runtime/tokenizer/load_tokenizer.h"
#include "runtime/tokenizer/stream_decoder.h"

namespace genrt::api {

namespace {

FinishReason to_api(genrt::FinishReason r) {
  switch (r) {
    case genrt::FinishReason::stop: return FinishReason::stop;
    case genrt::FinishReason::length: return FinishReason::length;
    case genrt::FinishReason::cancelled: return FinishReason::cancelled;
  }
  return FinishReason::length;
}

}  // namespace

struct Model::Impl {
  std::unique_ptr<CausalLM> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::once_flag vocabulary_once;
  std::shared_ptr<const grammar::TokenVocabulary> vocabulary;  // read at the first structured generation

  // The grammar `options` ask the output to follow; null when they ask for none.
  std::shared_ptr<grammar::TokenGrammar> grammar_of(const SamplingOptions& options) {
    if (options.grammar.empty() && options.json_schema.empty()) return nullptr;
    GENRT_CHECK(options.grammar.empty() || options.json_schema.empty(), "give a grammar or a JSON schema, not both");
    GENRT_CHECK(tokenizer != nullptr, "structured output needs the model's tokenizer (the grammar is over text)");
    std::string gbnf = options.grammar;
    if (gbnf.empty()) {
      nlohmann::ordered_json schema;
      try {
        schema = nlohmann::ordered_json::parse(options.json_schema);
      } catch (const nlohmann::json::exception& e) {
        fail("json_schema is not valid JSON: {}", e.what());
      }
      gbnf = grammar::json_schema_gbnf(schema);
    }
    std::call_once(vocabulary_once, [&] {
      vocabulary = std::make_shared<const grammar::TokenVocabulary>(*tokenizer, model->spec().vocab_size);
    });
    return grammar::TokenGrammar::from_gbnf(gbnf, vocabulary);
  }
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Model Model::load(const std::string& path, const LoadOptions& options) {
  const genrt::DeviceOptions device = to_device_options(options);
  return translate(Error::Kind::model, [&] {
    auto impl = std::make_unique<Impl>();
    impl->model = load_causal_lm(path, device);
    const auto tokenizer = options.tokenizer.empty() ? find_tokenizer(path) : std::optional(std::filesystem::path(options.tokenizer));
    if (tokenizer) impl->tokenizer = open_tokenizer(*tokenizer, impl->model->spec().vocab_size);
    return Model(std::move(impl));
  });
}

ModelInfo Model::info() const {
  const ModelSpec& s = impl_->model->spec();
  return {s.architecture, s.parameter_count, s.vocab_size, s.context_length, s.random_weights};
}

MemoryUsage Model::memory() const {
  const ModelSpec& s = impl_->model->spec();
  // The CPU backend keeps weights and the KV cache in fp32.
  return {static_cast<uint64_t>(s.parameter_count) * 4,
          static_cast<uint64_t>(s.kv_cache_shape(1, 1).bytes_per_token(genrt::DType::f32))};
}

bool Model::has_tokenizer() const { return impl_->tokenizer != nullptr; }

std::vector<int32_t> Model::tokenize(std::string_view text, bool add_special) const {
  if (!impl_->tokenizer) throw Error(Error::Kind::invalid_argument, "this model has no tokenizer");
  return translate(Error::Kind::invalid_argument, [&] { return impl_->tokenizer->encode(text, add_special); });
}

std::string Model::detokenize(std::span<const int32_t> ids) const {
  if (!impl_->tokenizer) throw Error(Error::Kind::invalid_argument, "this model has no tokenizer");
  return translate(Error::Kind::invalid_argument, [&] {
    // An id inside the model's vocabulary but past the tokenizer's spells nothing; one
    // outside the model's is the caller's mistake.
    const int64_t vocab = impl_->model->spec().vocab_size;
    for (const int32_t id : ids) GENRT_CHECK(id >= 0 && id < vocab, "token id {} is outside the vocabulary [0, {})", id, vocab);
    return impl_->tokenizer->decode(ids, /*skip_special=*/true);
  });
}

GenerationResult Model::generate(std::string_view prompt, const SamplingOptions& options, const TokenCallback& on_token) const {
  return generate(tokenize(prompt, true), options, on_token);
}

GenerationResult Model::generate(std::span<const int32_t> prompt, const SamplingOptions& options,
                                 const TokenCallback& on_token) const {
  return translate(Error::Kind::invalid_argument, [&] {
    GenerationRequest request{.prompt = {prompt.begin(), prompt.end()},
                              .max_new_tokens = options.max_tokens,
                              .sampling = {.temperature = options.temperature,
                                           .top_k = options.top_k,
                                           .top_p = options.top_p,
                                           .min_p = options.min_p,
                                           .repetition_penalty = options.repetition_penalty,
                                           .seed = options.seed},
                              .ignore_eos = options.ignore_eos,
                              .stop_token_ids = {},
                              .grammar = impl_->grammar_of(options)};
    const ModelSpec& spec = impl_->model->spec();
    constexpr int64_t kBlockSize = 16;
    GENRT_CHECK(options.max_tokens >= 0, "max_tokens must be >= 0, got {}", options.max_tokens);
    const int64_t blocks = std::max<int64_t>(1, kv_blocks_needed({&request, 1}, kBlockSize));
    KvCache cache = impl_->model->make_kv_cache(std::min(blocks, (spec.context_length + kBlockSize - 1) / kBlockSize),
                                                kBlockSize);
    Generator generator(*impl_->model, cache);
    std::optional<StreamDecoder> stream;
    if (impl_->tokenizer) stream.emplace(*impl_->tokenizer, impl_->model->spec().text_context(request.prompt));
    GenerationResult result;
    GenerationStats stats;
    const auto results = generator.generate(
        {&request, 1},
        [&](size_t, int32_t token) {
          const std::string text = stream ? stream->push(token) : "";
          result.text += text;
          return on_token ? on_token(token, text) : true;
        },
        &stats);
    if (stream) result.text += stream->finish();
    result.tokens = results[0].tokens;
    result.finish_reason = to_api(results[0].finish_reason);
    result.prompt_tokens = stats.prompt_tokens;
    result.ttft_ms = stats.ttft_ms;
    result.tokens_per_s = stats.tokens_per_s;
    return result;
  });
}

const char* version() { return GENRT_VERSION; }

}  // namespace genrt::api
