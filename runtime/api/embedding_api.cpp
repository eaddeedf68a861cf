// The public C++ embedding API (include/genrt/embedding.hpp) over the BERT/RoBERTa encoder.

#include "genrt/embedding.hpp"
#include "runtime/api/device_options.h"
#include "runtime/api/translate_errors.h"
#include "runtime/models/bert/bert_model.h"
#include "runtime/models/bert/pooling.h"
#include "runtime/tokenizer/hf_tokenizer.h"

namespace genrt::api {

struct EmbeddingModel::Impl {
  BertModel model;
  HfTokenizer tokenizer;
  Pooling pooling;
};

EmbeddingModel::EmbeddingModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EmbeddingModel::~EmbeddingModel() = default;
EmbeddingModel::EmbeddingModel(EmbeddingModel&&) noexcept = default;
EmbeddingModel& EmbeddingModel::operator=(EmbeddingModel&&) noexcept = default;

EmbeddingModel EmbeddingModel::load(const std::string& path, const LoadOptions& options) {
  const genrt::DeviceOptions device = to_device_options(options);
  return translate(Error::Kind::model, [&] {
    const std::string tokenizer = options.tokenizer.empty() ? path : options.tokenizer;
    return EmbeddingModel(
        std::make_unique<Impl>(Impl{load_bert(path, device), HfTokenizer::open(tokenizer), read_pooling(path)}));
  });
}

EmbeddingModelInfo EmbeddingModel::info() const {
  const BertConfig& c = impl_->model.config();
  const PoolingMode mode = impl_->pooling.mode;
  return {c.architecture, c.hidden_size, c.context_length(),
          mode == PoolingMode::cls ? "cls" : mode == PoolingMode::mean ? "mean" : "last", impl_->pooling.normalize};
}

std::vector<std::vector<float>> EmbeddingModel::embed(const std::vector<std::string>& texts) const {
  return translate(Error::Kind::invalid_argument, [&] {
    std::vector<std::vector<int32_t>> ids;
    for (size_t i = 0; i < texts.size(); ++i) {
      ids.push_back(impl_->tokenizer.encode(texts[i], true));
      const int64_t context = impl_->model.config().context_length();
      GENRT_CHECK(static_cast<int64_t>(ids.back().size()) <= context,
                  "text {} has {} tokens, but the model's context is {} tokens", i, ids.back().size(), context);
    }
    std::vector<std::vector<float>> out;
    for (const Tensor& hidden : impl_->model.encode_batch(ids)) out.push_back(pool(hidden, impl_->pooling));
    return out;
  });
}

}  // namespace genrt::api
