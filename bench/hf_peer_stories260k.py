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
from stories260k import load_hf_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_hf_model()
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
