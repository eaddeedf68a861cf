"""Golden data for sliding-window attention, from Hugging Face transformers on the CPU.

Writes tests/data/tiny_mistral/: a MistralForCausalLM with sliding_window 8 and seeded random
bf16 weights, a 4-token prompt, its greedy continuation up to max_position_embeddings (60
tokens, so generation runs past the window 7 times over) and the fp32 logits of every position
of prompt + continuation. The script checks that the window changes those logits and the
greedy tokens, so the golden cannot pass without a window.

Usage: python tools/golden/mistral.py   (needs torch, transformers, safetensors)
"""

import torch
from transformers import MistralConfig, MistralForCausalLM

from common import DATA_DIR, all_logits, greedy, rounded, write_json
from llama import randomize

PROMPT = [1, 17, 42, 99]
WINDOW = 8
SEED = 2024

SHAPE = dict(
    vocab_size=128,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
    rms_norm_eps=1e-6,
    rope_theta=10000.0,
    bos_token_id=1,
    eos_token_id=2,
    tie_word_embeddings=False,
)
GREEDY_TOKENS = SHAPE["max_position_embeddings"] - len(PROMPT)  # to the full context


def model_with_window(window):
    torch.manual_seed(SEED)
    model = MistralForCausalLM(MistralConfig(**SHAPE, sliding_window=window)).float().eval()
    randomize(model, SEED, torch.bfloat16)
    return model


def main():
    model = model_with_window(WINDOW)
    continuation = greedy(model, PROMPT, GREEDY_TOKENS)
    ids = PROMPT + continuation
    logits = all_logits(model, ids)
    full_attention = model_with_window(None)
    unwindowed = all_logits(full_attention, ids)
    # Positions up to WINDOW - 1 see their whole context either way; later ones must not.
    # transformers 5.24 honours sliding_window with its default sdpa (and with eager and
    # flex_attention alike); these checks fail for a version that ignores it.
    assert torch.allclose(logits[:WINDOW], unwindowed[:WINDOW])
    effect = (logits[WINDOW:] - unwindowed[WINDOW:]).abs().max().item()
    assert effect > 0.1, f"the window changes the logits by only {effect}"
    print(f"the window changes logits past position {WINDOW - 1} by up to {effect:.3f}")
    unwindowed_continuation = greedy(full_attention, PROMPT, GREEDY_TOKENS)
    differ = sum(a != b for a, b in zip(continuation, unwindowed_continuation))
    assert differ > GREEDY_TOKENS // 2, f"full attention changes only {differ} greedy tokens"
    print(f"full attention gives {differ} of the {GREEDY_TOKENS} greedy tokens differently")
    # Each greedy token must win by more than twice the C++ tests' logit tolerance (2e-4).
    top2 = logits[len(PROMPT) - 1:-1].topk(2).values
    margin = (top2[:, 0] - top2[:, 1]).min().item()
    assert margin > 1e-3, f"a greedy token wins by only {margin}"
    print(f"every greedy token wins by at least {margin:.4f}")
    out_dir = DATA_DIR / "tiny_mistral"
    out_dir.mkdir(parents=True, exist_ok=True)
    model.to(torch.bfloat16).save_pretrained(out_dir)
    write_json(out_dir / "golden.json", {
        "source": "transformers MistralForCausalLM, tools/golden/mistral.py",
        "prompt": PROMPT,
        "greedy": continuation,
        "logits": rounded(logits),  # [len(prompt) + len(greedy), vocab]: every position of both
    })


if __name__ == "__main__":
    main()
