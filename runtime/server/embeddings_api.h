#pragma once
// POST /v1/embeddings in OpenAI's shape, served by a BERT or RoBERTa encoder:
//   {"input": "text" | ["text", ...] | [id, ...] | [[id, ...], ...], "model": ...,
//    "encoding_format": "float" | "base64"}
//   -> {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": ...}],
//       "model": ..., "usage": {"prompt_tokens": n, "total_tokens": n}}
// Texts get the tokenizer's special tokens ([CLS] ... [SEP]); token-id lists are taken
// verbatim. Base64 is the little-endian float32 bytes, as OpenAI sends them. An input over
// the model's context, an empty input or a malformed field is a 400 (ApiError) naming the
// input. Requests are batched together (request_batcher.h): those that arrive while the
// model runs a batch make the next one, and inputs of equal length in a batch run as one
// forward (BertModel::encode_batch).

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "runtime/models/bert/bert_model.h"
#include "runtime/models/bert/pooling.h"
#include "runtime/server/request_batcher.h"
#include "runtime/server/request_json.h"
#include "runtime/tokenizer/hf_tokenizer.h"

namespace genrt {

class EmbeddingService {
 public:
  EmbeddingService(BertModel model, HfTokenizer tokenizer, Pooling pooling);

  const BertModel& model() const { return model_; }
  // The response body for a parsed request body; throws ApiError for a bad request.
  nlohmann::json respond(const RequestJson& body, const std::string& model_name);
  // Forwards run and requests served, since start.
  size_t batches() const { return batcher_.batches(); }
  size_t requests() const { return batcher_.requests(); }

 private:
  std::vector<std::vector<int32_t>> parse_inputs(const RequestJson& body) const;

  BertModel model_;
  HfTokenizer tokenizer_;
  Pooling pooling_;
  // One batch at a time (a GPU model's steps do not nest), of every request waiting.
  RequestBatcher<std::vector<int32_t>, Tensor> batcher_;
};

// The little-endian bytes of `values` in base64 (RFC 4648, with padding).
std::string base64_floats(const std::vector<float>& values);

}  // namespace genrt
