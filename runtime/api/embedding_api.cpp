// The public C++ embedding API (include/genrt/embedding.hpp) over the BERT/RoBERTa encoder's
// Embedder.

#include "genrt/embedding.hpp"
#include "runtime/api/device_options.h"
#include "runtime/api/translate_errors.h"
#include "runtime/models/embedder.h"
#include "runtime/tokenizer/hf_tokenizer.h"

namespace genrt::api {

struct EmbeddingModel::Impl {
  std::unique_ptr<Embedder> embedder;
  HfTokenizer tokenizer;
};

EmbeddingModel::EmbeddingModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EmbeddingModel::~EmbeddingModel() = default;
EmbeddingModel::EmbeddingModel(EmbeddingModel&&) noexcept = default;
EmbeddingModel& EmbeddingModel::operator=(EmbeddingModel&&) noexcept = default;

EmbeddingModel EmbeddingModel::load(const std::string& path, const LoadOptions& options) {
  const genrt::DeviceOptions device = to_device_options(options);
  return translate(Error::Kind::model, [&] {
    const std::string tokenizer = options.tokenizer.empty() ? path : options.tokenizer;
    return EmbeddingModel(std::make_unique<Impl>(
        Impl{encoder_embedder(load_bert(path, device), read_pooling(path)), HfTokenizer::open(tokenizer)}));
  });
}

EmbeddingModelInfo EmbeddingModel::info() const {
  const Embedder& e = *impl_->embedder;
  return {e.architecture(), e.dimensions(), e.context_length(), pooling_name(e.pooling().mode), e.pooling().normalize};
}

std::vector<std::vector<float>> EmbeddingModel::embed(const std::vector<std::string>& texts) const {
  return translate(Error::Kind::invalid_argument, [&] {
    std::vector<std::vector<int32_t>> ids;
    const int64_t context = impl_->embedder->context_length();
    for (size_t i = 0; i < texts.size(); ++i) {
      ids.push_back(impl_->tokenizer.encode(texts[i], true));
      GENRT_CHECK(static_cast<int64_t>(ids.back().size()) <= context,
                  "text {} has {} tokens, but the model's context is {} tokens", i, ids.back().size(), context);
    }
    return impl_->embedder->embed(ids);
  });
}

}  // namespace genrt::api
