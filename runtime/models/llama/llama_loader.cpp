#include "runtime/models/llama/llama_loader.h"

#include <array>

#include <spdlog/spdlog.h>

#include "runtime/io/json_file.h"
#include "runtime/models/named_weights.h"
#include "runtime/models/placement.h"

namespace genrt {

LlamaModel load_llama_hf(const std::filesystem::path& dir, const DeviceOptions& device) {
  const auto config_path = dir / "config.json";
  const LlamaConfig c = llama_config_from_hf(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  // Some tied checkpoints still store lm_head.weight; prefer it when present.
  LlamaWeights w{.lm_head_tied = c.tie_word_embeddings && !store.contains("lm_head.weight")};
  load_named_weights(store, llama_named_weights(c, w));
  LlamaModel model(c, std::move(w));
  if (device.device == Device::cuda) place_alone(model, device);
  return model;
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
  LlamaWeights w{.lm_head_tied = src.wcls.raw() == src.token_embedding_table.raw()};
  w.embed_tokens = src.token_embedding_table;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    LlamaLayerWeights& L = w.layers.emplace_back();
    L.input_layernorm.weight = src.rms_att_weight.select(l);
    L.self_attn.qkv_proj.weight = concat_rows(std::array{src.wq.select(l), src.wk.select(l), src.wv.select(l)});
    L.self_attn.o_proj.weight = src.wo.select(l);
    L.post_attention_layernorm.weight = src.rms_ffn_weight.select(l);
    L.mlp.gate_up_proj.weight = concat_rows(std::array{src.w1.select(l), src.w3.select(l)});
    L.mlp.down_proj.weight = src.w2.select(l);
  }
  w.norm.weight = src.rms_final_weight;
  if (!w.lm_head_tied) w.lm_head.weight = src.wcls;
  LlamaModel model(c, std::move(w));
  if (device.device == Device::cuda) place_alone(model, device);
  return model;
}

}  // namespace genrt
