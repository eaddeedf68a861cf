"""Golden data for genrt's Llama-family loader and forward pass, from Hugging Face
transformers on the CPU.

Writes two tiny checkpoints with seeded random weights into tests/data/ and, for each, the
fp32 logits of every position of a fixed prompt plus its 32-token greedy continuation:
  tiny_llama/  LlamaForCausalLM: GQA (4 heads, 2 KV heads), untied lm_head, bf16 weights
  tiny_qwen2/  Qwen2ForCausalLM: q/k/v biases, tied embeddings, fp16 weights in 2 shards

Usage: python tools/golden/llama.py   (needs torch, transformers, safetensors)
"""

import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from common import DATA_DIR, all_logits, greedy, rounded, write_json

PROMPT = [1, 17, 42, 99, 3, 250, 128, 64, 5, 77, 200]  # 11 tokens: not a multiple of 16
GREEDY_TOKENS = 32

SHAPE = dict(
    vocab_size=256,
    hidden_size=64,
    intermediate_size=160,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=128,
    rms_norm_eps=1e-6,
    bos_token_id=1,
    eos_token_id=2,
)


def randomize(model, seed, dtype):
    """Seeded weights with enough spread that greedy choices are not near-ties; norm
    weights around 1 so that a loader ignoring them fails. Values are rounded to `dtype`
    so the fp32 reference computes with exactly what the file stores."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_(1.0 + 0.1 * noise if "norm" in name else 0.15 * noise)
            p.copy_(p.to(dtype).float())


def build(name, config, cls, seed, dtype, shard_size=None):
    torch.manual_seed(seed)
    model = cls(config).float().eval()
    randomize(model, seed, dtype)
    out_dir = DATA_DIR / name
    # The reference runs first, in fp32: casting the model for saving also casts its
    # rotary inv_freq buffer, which would degrade the peer's own numerics.
    golden = {
        "source": f"transformers {cls.__name__}, tools/golden/llama.py",
        "prompt": PROMPT,
        "logits": rounded(all_logits(model, PROMPT)),
        "greedy": greedy(model, PROMPT, GREEDY_TOKENS),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    model.to(dtype).save_pretrained(out_dir, max_shard_size=shard_size or "1GB")
    write_json(out_dir / "golden.json", golden)


def main():
    build("tiny_llama", LlamaConfig(**SHAPE, tie_word_embeddings=False, rope_theta=10000.0),
          LlamaForCausalLM, seed=1234, dtype=torch.bfloat16)
    build("tiny_qwen2", Qwen2Config(**SHAPE, tie_word_embeddings=True, rope_theta=1000000.0,
                                    use_sliding_window=False),
          Qwen2ForCausalLM, seed=4321, dtype=torch.float16, shard_size="60KB")


if __name__ == "__main__":
    main()
