"""Golden data for a real trained checkpoint: ../shared/models/stories260K.bin (llama2.c
format) loaded into Hugging Face transformers' LlamaForCausalLM, and its greedy
continuation of BOS for 64 tokens, plus the logits of the first positions.

The mapping follows transformers' convert_llama_weights_to_hf: llama2.c (like Meta's
checkpoints) rotates interleaved feature pairs, transformers rotates halves, so wq and wk
rows are permuted per head. genrt instead runs the interleaved layout directly; matching
this golden shows the two are the same model.

Usage: python tools/golden/stories260k.py   (needs torch, transformers)
"""

import struct
from pathlib import Path

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from common import DATA_DIR, all_logits, greedy, rounded, write_json

CHECKPOINT = Path(__file__).resolve().parents[3] / "shared" / "models" / "stories260K.bin"
GREEDY_TOKENS = 64
LOGIT_POSITIONS = 8


def load_llama2c(path):
    raw = path.read_bytes()
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack("7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    head = dim // heads
    data = np.frombuffer(raw, dtype=np.float32, offset=28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        out = torch.from_numpy(data[pos:pos + n].copy()).reshape(shape)
        pos += n
        return out

    w = {"embed": take(vocab, dim), "rms_att": take(layers, dim),
         "wq": take(layers, heads * head, dim), "wk": take(layers, kv_heads * head, dim),
         "wv": take(layers, kv_heads * head, dim), "wo": take(layers, dim, heads * head),
         "rms_ffn": take(layers, dim), "w1": take(layers, hidden, dim),
         "w2": take(layers, dim, hidden), "w3": take(layers, hidden, dim),
         "rms_final": take(dim)}
    take(seq_len, head // 2)  # freq_cis_real
    take(seq_len, head // 2)  # freq_cis_imag
    w["wcls"] = w["embed"] if shared else take(vocab, dim)
    assert pos == data.size, "file size does not match the header"
    config = LlamaConfig(vocab_size=vocab, hidden_size=dim, intermediate_size=hidden,
                         num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=kv_heads, max_position_embeddings=seq_len,
                         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                         bos_token_id=1, eos_token_id=2)
    return config, w


def permute(w, n_heads):
    """Interleaved-pair rows -> rotate-half rows, per head (convert_llama_weights_to_hf)."""
    rows, cols = w.shape
    return w.view(n_heads, rows // n_heads // 2, 2, cols).transpose(1, 2).reshape(rows, cols)


def load_hf_model(path=CHECKPOINT):
    """The checkpoint as a transformers LlamaForCausalLM (fp32, eval mode)."""
    config, w = load_llama2c(path)
    model = LlamaForCausalLM(config).float().eval()
    sd = {"model.embed_tokens.weight": w["embed"], "model.norm.weight": w["rms_final"],
          "lm_head.weight": w["wcls"]}
    for l in range(config.num_hidden_layers):
        p = f"model.layers.{l}."
        sd[p + "input_layernorm.weight"] = w["rms_att"][l]
        sd[p + "self_attn.q_proj.weight"] = permute(w["wq"][l], config.num_attention_heads)
        sd[p + "self_attn.k_proj.weight"] = permute(w["wk"][l], config.num_key_value_heads)
        sd[p + "self_attn.v_proj.weight"] = w["wv"][l]
        sd[p + "self_attn.o_proj.weight"] = w["wo"][l]
        sd[p + "post_attention_layernorm.weight"] = w["rms_ffn"][l]
        sd[p + "mlp.gate_proj.weight"] = w["w1"][l]
        sd[p + "mlp.down_proj.weight"] = w["w2"][l]
        sd[p + "mlp.up_proj.weight"] = w["w3"][l]
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all("rotary" in m for m in missing), (missing, unexpected)
    return model


def main():
    model = load_hf_model()
    prompt = [1]
    tokens = greedy(model, prompt, GREEDY_TOKENS)
    write_json(DATA_DIR / "stories260K_golden.json", {
        "source": "transformers LlamaForCausalLM, tools/golden/stories260k.py",
        "prompt": prompt,
        "greedy": tokens,
        "logits": rounded(all_logits(model, (prompt + tokens)[:LOGIT_POSITIONS])),
    })


if __name__ == "__main__":
    main()
