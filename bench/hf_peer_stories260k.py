"""Peer figure for CPU generation: Hugging Face transformers generating greedily from
stories260K (../shared/models/stories260K.bin, mapped as in tools/golden/stories260k.py),
timed the way `genrt generate --json` reports: time to the first token, then decode
tokens/s over the tokens after it.

Usage: python bench/hf_peer_stories260k.py [--tokens 64] [--threads 1]
"""

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "golden"))
from stories260k import CHECKPOINT, load_llama2c, permute  # noqa: E402
from transformers import LlamaForCausalLM  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config, w = load_llama2c(CHECKPOINT)
    model = LlamaForCausalLM(config).float().eval()
    sd = {"model.embed_tokens.weight": w["embed"], "model.norm.weight": w["rms_final"], "lm_head.weight": w["wcls"]}
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
    model.load_state_dict(sd, strict=False)
    ids = torch.tensor([[1]])
    with torch.no_grad():
        model.generate(ids, max_new_tokens=8, min_new_tokens=8, do_sample=False)  # warm-up
        start = time.perf_counter()
        out = model(ids, use_cache=True)
        past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        first = time.perf_counter()
        for _ in range(args.tokens - 1):
            out = model(token, past_key_values=past, use_cache=True)
            past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        end = time.perf_counter()
    print(f"transformers {__import__('transformers').__version__} torch {torch.__version__} ({args.threads} thread): "
          f"ttft {1000 * (first - start):.2f} ms, decode {(args.tokens - 1) / (end - first):.1f} tokens/s")


if __name__ == "__main__":
    main()
