"""Golden data for genrt's GPT-2 loader and forward pass, from Hugging Face transformers
on the CPU: a tiny GPT2LMHeadModel with seeded random weights (Conv1D weights, fused
c_attn, learned positions, tanh GELU, tied LM head), saved as fp32 safetensors in
tests/data/tiny_gpt2/, with the logits of every position of a fixed prompt and its
32-token greedy continuation.

Usage: python tools/golden/gpt2.py   (needs torch, transformers, safetensors)
"""

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from common import DATA_DIR, all_logits, greedy, rounded, write_json

PROMPT = [50, 3, 200, 17, 99, 128, 7, 255, 1]  # 9 tokens
GREEDY_TOKENS = 32


def main():
    config = GPT2Config(vocab_size=256, n_positions=64, n_embd=64, n_layer=2, n_head=4,
                        activation_function="gelu_new", layer_norm_epsilon=1e-5,
                        bos_token_id=0, eos_token_id=0, tie_word_embeddings=True)
    torch.manual_seed(99)
    model = GPT2LMHeadModel(config).float().eval()
    gen = torch.Generator().manual_seed(99)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_(1.0 + 0.1 * noise if ".ln_" in name and name.endswith("weight") else 0.15 * noise)
    out_dir = DATA_DIR / "tiny_gpt2"
    golden = {
        "source": "transformers GPT2LMHeadModel, tools/golden/gpt2.py",
        "prompt": PROMPT,
        "logits": rounded(all_logits(model, PROMPT)),
        "greedy": greedy(model, PROMPT, GREEDY_TOKENS),
    }
    model.save_pretrained(out_dir)
    write_json(out_dir / "golden.json", golden)


if __name__ == "__main__":
    main()
