#include "runtime/models/llama/llama_loader.h"

#include <spdlog/spdlog.h>

#include "runtime/io/json_file.h"

namespace genrt {

namespace {

// Fetches a tensor, checks its shape against the config and converts it to fp32.
class HfWeightReader {
 public:
  HfWeightReader(const WeightStore& store, std::string config_path)
      : store_(store), config_path_(std::move(config_path)) {}

  Tensor get(const std::string& name, const Shape& shape) const {
    const Tensor t = store_.get(name);
    GENRT_CHECK(t.shape() == shape, "tensor '{}' has shape {}, but {} implies {}", name,
                shape_string(t.shape()), config_path_, shape_string(shape));
    return t.to_f32();
  }

 private:
  const WeightStore& store_;
  std::string config_path_;
};

}  // namespace

LlamaWeights llama_weights_from(const LlamaConfig& c, const LlamaTensorSource& get, bool lm_head_stored) {
  const auto get_if = [&](bool present, const std::string& name, const Shape& shape) {
    return present ? get(name, shape) : Tensor();
  };
  const int64_t hidden = c.hidden_size, inter = c.intermediate_size;
  LlamaWeights w;
  w.embed_tokens = get("model.embed_tokens.weight", {c.vocab_size, hidden});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LlamaLayerWeights& L = w.layers.emplace_back();
    L.input_layernorm = get(p + "input_layernorm.weight", {hidden});
    L.q_proj = get(p + "self_attn.q_proj.weight", {c.q_dim(), hidden});
    L.k_proj = get(p + "self_attn.k_proj.weight", {c.kv_dim(), hidden});
    L.v_proj = get(p + "self_attn.v_proj.weight", {c.kv_dim(), hidden});
    L.q_bias = get_if(c.qkv_bias, p + "self_attn.q_proj.bias", {c.q_dim()});
    L.k_bias = get_if(c.qkv_bias, p + "self_attn.k_proj.bias", {c.kv_dim()});
    L.v_bias = get_if(c.qkv_bias, p + "self_attn.v_proj.bias", {c.kv_dim()});
    L.o_proj = get(p + "self_attn.o_proj.weight", {hidden, c.q_dim()});
    L.o_bias = get_if(c.o_bias, p + "self_attn.o_proj.bias", {hidden});
    L.post_attention_layernorm = get(p + "post_attention_layernorm.weight", {hidden});
    L.gate_proj = get(p + "mlp.gate_proj.weight", {inter, hidden});
    L.up_proj = get(p + "mlp.up_proj.weight", {inter, hidden});
    L.down_proj = get(p + "mlp.down_proj.weight", {hidden, inter});
  }
  w.norm = get("model.norm.weight", {hidden});
  // Some tied checkpoints still store lm_head.weight; prefer it when present.
  w.lm_head = c.tie_word_embeddings && !lm_head_stored ? w.embed_tokens : get("lm_head.weight", {c.vocab_size, hidden});
  return w;
}

LlamaModel load_llama_hf(const std::filesystem::path& dir, const DeviceOptions& device) {
  const auto config_path = dir / "config.json";
  const LlamaConfig c = llama_config_from_hf(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  const HfWeightReader reader(store, config_path.string());
  LlamaWeights w = llama_weights_from(
      c, [&](const std::string& name, const Shape& shape) { return reader.get(name, shape); },
      store.contains("lm_head.weight"));
  return LlamaModel(c, std::move(w), device);
}

LlamaConfig llama_config_from_llama2c(const Llama2cHeader& h) {
  LlamaConfig c;
  c.architecture = "llama2.c";
  c.hidden_size = h.dim;
  c.intermediate_size = h.hidden_dim;
  c.num_hidden_layers = h.n_layers;
  c.num_attention_heads = h.n_heads;
  c.num_key_value_heads = h.n_kv_heads;
  c.head_dim = h.head_size();
  c.vocab_size = h.vocab_size;
  c.max_position_embeddings = h.seq_len;
  c.rms_norm_eps = 1e-5;      // fixed in llama2.c's model.py and run.c
  c.rope_theta = 10000.0;
  c.rope_layout = ref::RopeLayout::interleaved;  // Meta's pairing; no permutation needed
  c.tie_word_embeddings = h.shared_classifier;
  c.bos_token_id = 1;
  // llama2.c models are trained on stories that each start with BOS and carry no EOS, so
  // run.c ends a sample when BOS comes again; EOS (2) is the SentencePiece convention.
  c.eos_token_ids = {1, 2};
  return c;
}

LlamaModel load_llama2c(const std::filesystem::path& file, const DeviceOptions& device) {
  const Llama2cCheckpoint ckpt = Llama2cCheckpoint::open(file);
  const LlamaConfig c = llama_config_from_llama2c(ckpt.header());
  c.validate(file.string());
  const Llama2cWeights& src = ckpt.weights();
  LlamaWeights w;
  w.embed_tokens = src.token_embedding_table;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    LlamaLayerWeights& L = w.layers.emplace_back();
    L.input_layernorm = src.rms_att_weight.select(l);
    L.q_proj = src.wq.select(l);
    L.k_proj = src.wk.select(l);
    L.v_proj = src.wv.select(l);
    L.o_proj = src.wo.select(l);
    L.post_attention_layernorm = src.rms_ffn_weight.select(l);
    L.gate_proj = src.w1.select(l);
    L.down_proj = src.w2.select(l);
    L.up_proj = src.w3.select(l);
  }
  w.norm = src.rms_final_weight;
  w.lm_head = src.wcls;
  return LlamaModel(c, std::move(w), device);
}

}  // namespace genrt
