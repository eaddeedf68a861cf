"""Helpers shared by the golden-data scripts: deterministic greedy decoding with a
transformers model and compact JSON output."""

import json
from pathlib import Path

import torch

DATA_DIR = Path(__file__).resolve().parents[2] / "tests" / "data"


@torch.no_grad()
def all_logits(model, ids):
    """fp32 logits [len(ids), vocab] of a full forward pass over `ids`."""
    return model(torch.tensor([ids])).logits[0].float()


@torch.no_grad()
def greedy(model, prompt, n):
    """n greedy tokens after `prompt`, never stopping at EOS (callers compare all n)."""
    ids = list(prompt)
    for _ in range(n):
        ids.append(int(all_logits(model, ids)[-1].argmax()))
    return ids[len(prompt):]


def write_json(path, payload):
    path.parent.mkdir(parents=True, exist_ok=True)
    # Floats with 7 significant digits keep fp32 precision and the files small.
    text = json.dumps(payload, separators=(",", ":"))
    path.write_text(text + "\n")
    print(f"wrote {path} ({len(text) // 1024} KiB)")


def rounded(t):
    return [[float(f"{v:.7g}") for v in row] for row in t.tolist()]
