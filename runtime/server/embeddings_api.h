#pragma once
// POST /v1/embeddings in OpenAI's shape, served by an encoder (BERT, RoBERTa, XLM-R) or a
// decoder pooled at its last token (embedder.h):
//   {"input": "text" | ["text", ...] | [id, ...] | [[id, ...], ...], "model": ...,
//    "encoding_format": "float" | "base64"}
//   -> {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": ...}],
//       "model": ..., "usage": {"prompt_tokens": n, "total_tokens": n}}
// Texts get the tokenizer's special tokens ([CLS] ... [SEP], or a decoder's); token-id lists are taken
// verbatim. Base64 is the little-endian float32 bytes, as OpenAI sends them. An input over
// the model's context, an empty input or a malformed field is a 400 (ApiError) naming the
// input. Requests are batched together (request_batcher.h): those that arrive while the
// model runs a batch make the next one (Embedder::embed runs its inputs together).

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "runtime/models/embedder.h"
#include "runtime/server/request_batcher.h"
#include "runtime/server/request_json.h"
#include "runtime/tokenizer/tokenizer.h"

namespace genrt {

class EmbeddingService {
 public:
  EmbeddingService(std::unique_ptr<Embedder> embedder, std::unique_ptr<Tokenizer> tokenizer);

  const Embedder& embedder() const { return *embedder_; }
  // The response body for a parsed request body; throws ApiError for a bad request.
  nlohmann::json respond(const RequestJson& body, const std::string& model_name);
  // Forwards run and requests served, since start.
  size_t batches() const { return batcher_.batches(); }
  size_t requests() const { return batcher_.requests(); }

 private:
  std::vector<std::vector<int32_t>> parse_inputs(const RequestJson& body) const;

  std::unique_ptr<Embedder> embedder_;
  std::unique_ptr<Tokenizer> tokenizer_;
  // One batch at a time (a GPU model's steps do not nest), of every request waiting.
  RequestBatcher<std::vector<int32_t>, std::vector<float>> batcher_;
};

// The little-endian bytes of `values` in base64 (RFC 4648, with padding).
std::string base64_floats(const std::vector<float>& values);

}  // namespace genrt
