"""Golden data for genrt's CLIP text encoder and CLIP tokenizer, from Hugging Face
transformers on the CPU.

Writes into tests/data/tiny_clip/ two pieces of a Stable Diffusion pipeline folder in
diffusers' layout, each a text_encoder/ and a tokenizer/:
  sd1/     as Stable Diffusion 1.x ships them: quick-GELU, fp16 weights named with the
           `text_model.` prefix (as Hub checkpoints have them), a tokenizer of vocab.json
           and merges.txt only, padding with <|endoftext|>
  sd2/     as 2.x does, written by recent transformers: GELU, fp32 weights without the
           prefix, a tokenizer.json beside vocab.json and merges.txt, padding with "!"
and golden.json: for each, the ids transformers' CLIPTokenizer gives hostile strings as
diffusers' pipelines call it (padded to 77, truncated keeping the EOS), and the names of
.npy files holding the encoder's outputs for the ids of a prompt and an empty negative
prompt: the last hidden state, and diffusers' clip-skip embeddings (the final layer norm
of hidden_states[-(1 + clip_skip)]).

The vocabulary is CLIP's construction on a small scale: the 256 byte characters, the same
with the end-of-word suffix </w>, the merges learned from a short English text, then the
two special tokens.

Usage: python tools/golden/clip.py   (needs torch, transformers, safetensors, tokenizers)
"""

import json
import shutil

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from common import DATA_DIR, write_json
from tokenizers_golden import STRINGS, TRAINING_TEXT

OUT = DATA_DIR / "tiny_clip"
MERGES = 160
MAX_LENGTH = 77
CLIP_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""

CLIP_STRINGS = STRINGS + [
    "A PHOTO of a Cat, MiXeD CaSe",
    "&amp; &lt;b&gt;bold&lt;/b&gt; &quot;quoted&quot; &#39;",
    "!!!",
    "wow!!! really?!?! yes...",
    "don't DON'T i'LL we'Re",
    "straße ΣΑΣ σας İstanbul ﬁne",
    "tabs\tnew\nlines\r\nand\u00a0nbsp\u3000ideographic space",
    "<|startoftext|>inside<|endoftext|> text",
    "a 1girl, masterpiece, (best quality:1.2), [cat|dog]",
    " ".join(f"word{i}" for i in range(60)),  # past 77 tokens: truncated
]


def bytes_to_unicode():
    """GPT-2's printable spelling of every byte (CLIP uses the same)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def train_clip_bpe():
    """vocab (token -> id) and merges, in CLIP's order."""
    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    alphabet = bytes_to_unicode()
    trainer = trainers.BpeTrainer(vocab_size=2 * len(alphabet) + MERGES, initial_alphabet=alphabet,
                                  end_of_word_suffix="</w>", show_progress=False)
    tok.train_from_iterator([TRAINING_TEXT], trainer)
    merges = [" ".join(m) if isinstance(m, list) else m for m in json.loads(tok.to_str())["model"]["merges"]]
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["".join(m.split(" ")) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {}
    for t in tokens:
        vocab.setdefault(t, len(vocab))
    assert any(m.endswith("</w>") for m in merges), "no end-of-word merges were learned"
    return vocab, merges


def special_tokens(pad):
    word = {"lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    return {"bos_token": {"content": "<|startoftext|>", **word}, "eos_token": {"content": "<|endoftext|>", **word},
            "pad_token": pad, "unk_token": {"content": "<|endoftext|>", **word}}


def write_tokenizer(folder, vocab, merges, pad, with_tokenizer_json):
    """tokenizer/ as the Hub's SD folders have it (tokenizer_config.json written like
    runwayml/stable-diffusion-v1-5's), plus tokenizer.json when asked."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    specials = special_tokens(pad)
    (folder / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n")
    config = {"add_prefix_space": False, "do_lower_case": True, "errors": "replace", "model_max_length": MAX_LENGTH,
              "tokenizer_class": "CLIPTokenizer", **specials}
    for name in ("bos_token", "eos_token", "unk_token"):
        config[name] = {"__type": "AddedToken", **config[name]}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    tokenizer = CLIPTokenizer.from_pretrained(folder)
    assert tokenizer.pad_token == pad and tokenizer.model_max_length == MAX_LENGTH
    if with_tokenizer_json:
        tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
        tokenizer = CLIPTokenizer.from_pretrained(folder)
    return tokenizer


def pipeline_ids(tokenizer, text):
    """As diffusers' StableDiffusionPipeline.encode_prompt tokenizes a prompt."""
    return tokenizer(text, padding="max_length", max_length=tokenizer.model_max_length, truncation=True).input_ids


def tokenizer_cases(tokenizer):
    cases = []
    for text in CLIP_STRINGS:
        untruncated = tokenizer(text, padding="longest").input_ids
        cases.append({"text": text, "ids": pipeline_ids(tokenizer, text), "truncated": len(untruncated) > MAX_LENGTH})
    return cases


def randomize(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            value = 1.0 + 0.1 * noise if "layer_norm" in name and name.endswith("weight") else 0.15 * noise
            p.copy_(value.half().float())  # values fp16 holds exactly: sd1 stores its weights in fp16


@torch.no_grad()
def encoder_outputs(model, ids):
    """last_hidden_state, and diffusers' clip-skip 1 and 2 embeddings, for a batch of ids."""
    out = model(torch.tensor(ids), output_hidden_states=True)
    final_norm = model.final_layer_norm  # text_model.final_layer_norm before transformers 5
    return {"last_hidden_state": out.last_hidden_state,
            "clip_skip_1": final_norm(out.hidden_states[-2]),
            "clip_skip_2": final_norm(out.hidden_states[-3])}


def write_text_encoder(folder, config, seed, prefixed, dtype):
    model = CLIPTextModel(config).float().eval()
    randomize(model, seed)
    model.save_pretrained(folder)
    weights_path = folder / "model.safetensors"
    weights = load_file(weights_path)
    if prefixed:  # as the Hub's SD 1.x checkpoints have them, with transformers 4's position_ids buffer
        weights = {"text_model." + k: v for k, v in weights.items()}
        weights["text_model.embeddings.position_ids"] = torch.arange(config.max_position_embeddings)[None]
    save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in weights.items()}, weights_path, metadata={"format": "pt"})
    return model


def variant(name, hidden_act, pad, seed, prefixed, dtype, with_tokenizer_json, vocab, merges):
    root = OUT / name
    if root.exists():
        shutil.rmtree(root)
    tokenizer = write_tokenizer(root / "tokenizer", vocab, merges, pad, with_tokenizer_json)
    config = CLIPTextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                            num_attention_heads=4, max_position_embeddings=MAX_LENGTH, hidden_act=hidden_act,
                            layer_norm_eps=1e-5, bos_token_id=vocab["<|startoftext|>"],
                            eos_token_id=vocab["<|endoftext|>"], pad_token_id=tokenizer.pad_token_id)
    model = write_text_encoder(root / "text_encoder", config, seed, prefixed, dtype)
    prompts = ["a photo of a cat riding a bicycle, high quality", ""]  # a prompt and the empty negative one
    ids = [pipeline_ids(tokenizer, p) for p in prompts]
    outputs = {}
    for key, value in encoder_outputs(model, ids).items():
        path = root / f"{key}.npy"
        np.save(path, value.numpy().astype(np.float32))
        outputs[key] = f"{name}/{path.name}"
    return {"pad_token": pad, "pad_id": tokenizer.pad_token_id, "hidden_act": hidden_act,
            "encoder": {"prompts": prompts, "ids": ids, **outputs}, "tokenizer": tokenizer_cases(tokenizer)}


def main():
    vocab, merges = train_clip_bpe()
    golden = {
        "source": "transformers " + __import__("transformers").__version__ + " CLIPTokenizer and CLIPTextModel, "
                  "tools/golden/clip.py",
        "sd1": variant("sd1", "quick_gelu", "<|endoftext|>", 11, True, torch.float16, False, vocab, merges),
        "sd2": variant("sd2", "gelu", "!", 12, False, torch.float32, True, vocab, merges),
    }
    write_json(OUT / "golden.json", golden)


if __name__ == "__main__":
    main()
