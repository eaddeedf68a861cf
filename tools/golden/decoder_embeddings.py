"""Golden data for genrt's decoder embeddings (--embedding-pooling last): the final hidden
state (after the final norm, as transformers' base model returns it) of each input's last
token, for the tiny decoders the other golden scripts wrote into tests/data/, from
Hugging Face transformers on the CPU in fp32.

Writes tests/data/decoder_embeddings_golden.json:
  {"inputs": [[ids...], ...], "models": {"tiny_llama": [[floats...] per input], ...}}

Usage: python tools/golden/decoder_embeddings.py   (needs torch, transformers; run llama.py,
gpt2.py, opt.py and mistral.py first)
"""

import torch
from transformers import AutoModel

from common import DATA_DIR, rounded, write_json

# Lengths across a KV block (16) and past tiny_mistral's sliding window.
INPUTS = [[5, 9, 1, 77], [1, 17, 42, 99, 3, 120, 64, 5, 77, 100, 2, 8, 31, 13, 55, 90, 6],
          [3 + (7 * i) % 120 for i in range(33)]]
MODELS = ["tiny_llama", "tiny_qwen2", "tiny_mistral", "tiny_gpt2", "tiny_opt", "tiny_opt_proj"]


@torch.no_grad()
def last_hidden(model, ids):
    return model(torch.tensor([ids])).last_hidden_state[0, -1].float()


def main():
    golden = {"source": "transformers AutoModel last_hidden_state[:, -1], tools/golden/decoder_embeddings.py",
              "inputs": INPUTS, "models": {}}
    for name in MODELS:
        model = AutoModel.from_pretrained(DATA_DIR / name, torch_dtype=torch.float32, attn_implementation="eager").eval()
        golden["models"][name] = rounded(torch.stack([last_hidden(model, ids) for ids in INPUTS]))
    write_json(DATA_DIR / "decoder_embeddings_golden.json", golden)


if __name__ == "__main__":
    main()
