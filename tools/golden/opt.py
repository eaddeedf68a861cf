"""Golden data for genrt's OPT loader and forward pass, from Hugging Face transformers on
the CPU: tiny OPTForCausalLM models with seeded random weights, saved as fp32 safetensors
in tests/data/<name>/, with the logits of every position of a fixed prompt and its
24-token greedy continuation. Three shapes cover OPT's switches:
  tiny_opt           LayerNorm before each block (opt-125m and most sizes), final LayerNorm
  tiny_opt_post_ln   LayerNorm after each block, no final LayerNorm, and project_in /
                     project_out to a narrower word embedding (opt-350m)
  tiny_opt_proj      LayerNorm before, with project_in / project_out

Usage: python tools/golden/opt.py   (needs torch, transformers, safetensors)
"""

import torch
from transformers import OPTConfig, OPTForCausalLM

from common import DATA_DIR, all_logits, greedy, rounded, write_json

PROMPT = [2, 50, 3, 100, 17, 99, 120, 7, 1, 64]  # 10 tokens, starting with OPT's </s> BOS
GREEDY_TOKENS = 24

SHAPES = {
    "tiny_opt": dict(do_layer_norm_before=True, word_embed_proj_dim=48),
    "tiny_opt_post_ln": dict(do_layer_norm_before=False, word_embed_proj_dim=32),
    "tiny_opt_proj": dict(do_layer_norm_before=True, word_embed_proj_dim=32),
}


def make(name, shape, seed):
    config = OPTConfig(vocab_size=128, hidden_size=48, num_hidden_layers=2, ffn_dim=96,
                       num_attention_heads=4, max_position_embeddings=64, activation_function="relu",
                       bos_token_id=2, eos_token_id=2, pad_token_id=1, tie_word_embeddings=True,
                       **shape)
    torch.manual_seed(seed)
    model = OPTForCausalLM(config).float().eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_(1.0 + 0.1 * noise if "layer_norm" in pname and pname.endswith("weight") else 0.2 * noise)
    out_dir = DATA_DIR / name
    golden = {
        "source": f"transformers OPTForCausalLM {shape}, tools/golden/opt.py",
        "prompt": PROMPT,
        "logits": rounded(all_logits(model, PROMPT)),
        "greedy": greedy(model, PROMPT, GREEDY_TOKENS),
    }
    model.save_pretrained(out_dir)
    write_json(out_dir / "golden.json", golden)


def main():
    for seed, (name, shape) in enumerate(SHAPES.items(), start=7):
        make(name, shape, seed)


if __name__ == "__main__":
    main()
