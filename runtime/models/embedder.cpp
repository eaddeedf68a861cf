#include "runtime/models/embedder.h"

#include <deque>

#include "runtime/backend/device_runtime.h"
#include "runtime/core/error.h"
#include "runtime/models/decoder_device.h"

namespace genrt {

namespace {

class EncoderEmbedder final : public Embedder {
 public:
  EncoderEmbedder(BertModel model, Pooling pooling) : model_(std::move(model)), pooling_(pooling) {}

  const std::string& architecture() const override { return model_.config().architecture; }
  int64_t vocab_size() const override { return model_.config().vocab_size; }
  int64_t context_length() const override { return model_.config().context_length(); }
  int64_t dimensions() const override { return model_.config().hidden_size; }
  const Pooling& pooling() const override { return pooling_; }

  std::vector<std::vector<float>> embed(std::span<const std::vector<int32_t>> inputs) override {
    std::vector<std::vector<float>> out;
    for (const Tensor& hidden : model_.encode_batch(inputs)) out.push_back(pool(hidden, pooling_));
    return out;
  }

 private:
  BertModel model_;
  Pooling pooling_;
};

class DecoderEmbedder final : public Embedder {
 public:
  DecoderEmbedder(std::unique_ptr<CausalLM> model, Pooling pooling, const DeviceOptions& options)
      : model_(std::move(model)),
        pooling_(pooling),
        step_(step_limits(*model_, options)),
        cache_(model_->make_kv_cache(blocks_for(step_.max_step_tokens) + step_.max_step_seqs, kBlockSize)) {}

  const std::string& architecture() const override { return model_->spec().architecture; }
  int64_t vocab_size() const override { return model_->spec().vocab_size; }
  int64_t context_length() const override { return model_->spec().context_length; }
  int64_t dimensions() const override { return model_->spec().final_hidden_size(); }
  const Pooling& pooling() const override { return pooling_; }

  std::vector<std::vector<float>> embed(std::span<const std::vector<int32_t>> inputs) override {
    for (const std::vector<int32_t>& ids : inputs) {  // before any forward holds blocks
      GENRT_CHECK(!ids.empty(), "an input to embed has no tokens");
      GENRT_CHECK(std::ssize(ids) <= step_.max_step_tokens,
                  "an input of {} tokens is longer than a forward step's {} tokens", ids.size(), step_.max_step_tokens);
    }
    std::vector<std::vector<float>> out;
    out.reserve(inputs.size());
    while (out.size() < inputs.size()) embed_step(inputs.subspan(out.size()), out);
    return out;
  }

 private:
  static constexpr int64_t kBlockSize = DecoderDevice::kBlockSize;
  // Sequences a CPU forward takes: with a context's tokens they size the fp32 cache, which
  // the CPU allocates here (each sequence may end in a partial block).
  static constexpr int64_t kCpuSequences = 32;

  static int64_t blocks_for(int64_t tokens) { return (tokens + kBlockSize - 1) / kBlockSize; }

  // A forward's limits: those the GPU's workspace was planned for, or a context's tokens
  // in kCpuSequences sequences on the CPU.
  static DeviceOptions step_limits(const CausalLM& model, const DeviceOptions& options) {
    if (model.device_runtime() != nullptr) return DecoderDevice::resolve(options, model.spec());
    DeviceOptions cpu = options;
    cpu.max_step_tokens = model.spec().context_length;
    cpu.max_step_seqs = kCpuSequences;
    return cpu;
  }

  // A forward's block tables, back in the pool however the forward ends.
  struct HeldBlocks {
    KvCache& cache;
    std::deque<BlockTable> tables;  // the batch points at them: no reallocation
    ~HeldBlocks() {
      for (BlockTable& table : tables) cache.release(table);
    }
  };

  // One forward of the leading inputs (checked: each non-empty and within a step) that fit
  // its tokens, sequences and the KV pool, appending their embeddings to `out`.
  void embed_step(std::span<const std::vector<int32_t>> inputs, std::vector<std::vector<float>>& out) {
    ForwardBatch batch;
    HeldBlocks held{cache_, {}};
    for (const std::vector<int32_t>& ids : inputs) {
      const auto n = static_cast<int64_t>(ids.size());
      if (std::ssize(batch.tokens) + n > step_.max_step_tokens || std::ssize(batch.sequences) == step_.max_step_seqs) {
        break;
      }
      BlockTable& table = held.tables.emplace_back();
      if (!cache_.reserve(table, n)) {
        held.tables.pop_back();
        GENRT_CHECK(!batch.sequences.empty(), "an input of {} tokens needs more KV blocks than the pool's {}", n,
                    cache_.free_blocks());
        break;
      }
      batch.sequences.push_back({.first_token = std::ssize(batch.tokens), .n_tokens = n, .start_pos = 0, .blocks = &table});
      batch.tokens.insert(batch.tokens.end(), ids.begin(), ids.end());
    }
    Tensor hidden = model_->forward(batch, cache_, LogitsFor::last_token_hidden);
    if (DeviceRuntime* runtime = model_->device_runtime()) hidden = runtime->download(hidden).to_f32();
    for (int64_t s = 0; s < std::ssize(batch.sequences); ++s) out.push_back(pool(hidden.slice(s, s + 1), pooling_));
  }

  std::unique_ptr<CausalLM> model_;
  Pooling pooling_;
  DeviceOptions step_;  // the forward step's limits (resolved max_step_tokens and _seqs)
  KvCache cache_;
};

}  // namespace

std::unique_ptr<Embedder> encoder_embedder(BertModel model, Pooling pooling) {
  return std::make_unique<EncoderEmbedder>(std::move(model), pooling);
}

std::unique_ptr<Embedder> decoder_embedder(std::unique_ptr<CausalLM> model, Pooling pooling,
                                           const DeviceOptions& options) {
  const ModelSpec& spec = model->spec();
  GENRT_CHECK(!spec.decoder_start_token_id, "{} is an encoder-decoder: genrt embeds with encoders and decoders only",
              spec.architecture);
  GENRT_CHECK(pooling.mode == PoolingMode::last,
              "{} is a decoder: its embeddings pool the last token (--embedding-pooling last), whose state has seen "
              "the whole text",
              spec.architecture);
  return std::make_unique<DecoderEmbedder>(std::move(model), pooling, options);
}

}  // namespace genrt
