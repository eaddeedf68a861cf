#include "runtime/server/embeddings_api.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/core/base64.h"
#include "runtime/server/openai_api.h"

namespace genrt {

EmbeddingService::EmbeddingService(std::unique_ptr<Embedder> embedder, std::unique_ptr<Tokenizer> tokenizer)
    : embedder_(std::move(embedder)),
      tokenizer_(std::move(tokenizer)),
      batcher_([this](const std::vector<std::vector<int32_t>>& inputs) { return embedder_->embed(inputs); }) {}

std::vector<std::vector<int32_t>> EmbeddingService::parse_inputs(const RequestJson& body) const {
  const auto input = body.find("input");
  if (input == body.end()) throw ApiError(400, "'input' is required", "invalid_request_error", "input");
  const int64_t vocab_size = embedder_->vocab_size(), context = embedder_->context_length();
  std::vector<std::vector<int32_t>> out;
  auto add_text = [&](const RequestJson& text) {
    if (text.get_ref<const std::string&>().empty()) {
      throw ApiError(400, "'input' must not contain an empty string", "invalid_request_error", "input");
    }
    out.push_back(tokenizer_->encode(text.get<std::string>(), true));
  };
  auto add_ids = [&](const RequestJson& ids) {
    std::vector<int32_t> tokens;
    for (const auto& id : ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab_size) {
        throw ApiError(400, fmt::format("'input' token {} is not an id in [0, {})", id.dump(), vocab_size),
                       "invalid_request_error", "input");
      }
      tokens.push_back(id.get<int32_t>());
    }
    if (tokens.empty()) throw ApiError(400, "'input' must not contain an empty token list", "invalid_request_error", "input");
    out.push_back(std::move(tokens));
  };
  if (input->is_string()) {
    add_text(*input);
  } else if (input->is_array() && !input->empty() && (*input)[0].is_number()) {
    add_ids(*input);
  } else if (input->is_array() && !input->empty()) {
    for (const auto& item : *input) {
      if (item.is_string()) {
        add_text(item);
      } else if (item.is_array()) {
        add_ids(item);
      } else {
        throw ApiError(400, "'input' must be a string, a list of strings, or token-id lists", "invalid_request_error",
                       "input");
      }
    }
  } else {
    throw ApiError(400, "'input' must be a non-empty string, list of strings, or token-id lists",
                   "invalid_request_error", "input");
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (static_cast<int64_t>(out[i].size()) > context) {
      throw ApiError(400,
                     fmt::format("input {} has {} tokens, but the model's context is {} tokens", i, out[i].size(),
                                 context),
                     "invalid_request_error", "input");
    }
  }
  return out;
}

nlohmann::json EmbeddingService::respond(const RequestJson& body, const std::string& model_name) {
  if (!body.is_object()) throw ApiError(400, "the body must be a JSON object");
  const std::string format = body.value("encoding_format", std::string("float"));
  if (format != "float" && format != "base64") {
    throw ApiError(400, "'encoding_format' must be 'float' or 'base64'", "invalid_request_error", "encoding_format");
  }
  if (body.contains("dimensions")) {
    throw ApiError(400, "'dimensions' is not supported: the model's embeddings have one size", "invalid_request_error",
                   "dimensions");
  }
  const std::vector<std::vector<int32_t>> inputs = parse_inputs(body);
  nlohmann::json data = nlohmann::json::array();
  int64_t tokens = 0;
  const std::vector<std::vector<float>> embeddings = batcher_.submit(inputs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<float>& embedding = embeddings[i];
    tokens += static_cast<int64_t>(inputs[i].size());
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", format == "base64" ? nlohmann::json(base64_floats(embedding)) : nlohmann::json(embedding)}});
  }
  return {{"object", "list"},
          {"data", std::move(data)},
          {"model", model_name},
          {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
}

std::string base64_floats(const std::vector<float>& values) {
  static_assert(std::endian::native == std::endian::little, "base64 embeddings are little-endian float32");
  return base64_encode({reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)});
}

}  // namespace genrt
