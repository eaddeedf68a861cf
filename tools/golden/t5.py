"""Golden data for genrt's T5 encoder-decoder (T5ForConditionalGeneration) and its
SentencePiece-style Unigram tokenizer, from Hugging Face transformers and tokenizers on
the CPU: tiny models with seeded random weights, saved as fp32 safetensors in
tests/data/<name>/ with config.json, generation_config.json, tokenizer.json and a T5-like
tokenizer_config.json. Two variants:
  tiny_t5       original T5: ReLU feed-forward (wi, wo), word embeddings tied to the LM
                head, the decoder output scaled by d_model**-0.5 before it
  tiny_t5_v11   T5 v1.1 / FLAN-T5: gated-GELU feed-forward (wi_0, wi_1, wo, gelu_new),
                a separate lm_head.weight, no scaling (tie_word_embeddings false)
Both have fewer encoder than decoder layers, a small relative-attention bucket count and
max distance (so the encoder's inputs reach the logarithmic buckets and the clamp), and a
vocab_size 8 above the tokenizer's (ids the tokenizer never produces, which greedy picks).
The tokenizer is a Unigram trained on a built-in text, with T5's Replace of runs of spaces
(without the Precompiled normalizer), Metaspace and "</s>" appended by TemplateProcessing.
Each golden.json holds, per input: the token ids, the encoder's last hidden state, the
logits of every position of a fixed teacher-forced decoder sequence, 10 greedy tokens
(never stopping at EOS) and what model.generate gives (which stops at EOS); tiny_t5's also
holds the tokenizer's ids of hostile strings and their decoding.

Usage: python tools/golden/t5.py   (needs torch, transformers, safetensors, tokenizers)
"""

import json
import math

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import DynamicCache, EncoderDecoderCache, T5Config, T5ForConditionalGeneration

from common import DATA_DIR, rounded, write_json

TEXT = """translate English to German: The house is wonderful. Das Haus ist wunderbar.
translate English to German: The weather is nice today. Das Wetter ist heute schön.
translate English to French: The house is small. La maison est petite.
translate English to French: I like green tea and black coffee. J'aime le thé vert et le café noir.
summarize: Paris is the capital of France, and Berlin is the capital of Germany.
summarize: The quick brown fox jumps over the lazy dog near the river bank.
summarize: Studies have shown that owning a dog is good for you and your family.
question: What is the capital of Germany? context: Berlin is the capital of Germany.
question: Where does the fox sleep? context: The fox sleeps in a small house by the river.
Un café à Zürich coûte cher! Naïve résumé fiancée, façade and crème brûlée.
Über den Wolken muss die Freiheit wohl grenzenlos sein. Où est la gare? Très bien, merci.
cola sentence: The book was written by a famous author in 1984.
stsb sentence1: A man is playing a guitar. sentence2: A woman is playing the piano."""

SPECIALS = ["<pad>", "</s>", "<unk>"]
EXTRA_VOCAB = 8  # model rows past the tokenizer's vocabulary, as T5's 32128 vs 32100

INPUTS = ["translate English to German: The house is wonderful.",
          "summarize: Paris is the capital of France.",
          "Naïve café"]

HOSTILE = [
    "translate English to German: The house is wonderful.",
    "Naïve RÉSUMÉ fiancée ÅNGSTRÖM crème brûlée",
    "中文字符 and 日本語 mixed",
    "multiple   spaces    here  and   there",
    "tabs\tand\nnewlines\r\nmixed",
    "",
    "   ",
    "emoji 🤗👍🏽 and symbols ©®™ $100.50",
    "The end</s> and </s>more</s>",
    "<pad><unk> literal specials",
    "a" * 60 + " overlong",
    " leading and trailing spaces ",
]

DECODER_TOKENS = 5  # teacher-forced decoder sequence: start token + 5 ids
GREEDY_TOKENS = 10

COMMON = dict(d_model=32, d_kv=8, num_heads=4, num_layers=2, num_decoder_layers=3,
              relative_attention_num_buckets=8, relative_attention_max_distance=20, dropout_rate=0.0,
              layer_norm_epsilon=1e-6, initializer_factor=1.0, pad_token_id=0, eos_token_id=1,
              decoder_start_token_id=0)

# name: (seed, config). Seeds picked so that the greedy continuations vary, the top logit
# leads the next by > 0.02 at every greedy step, both reach ids past the tokenizer's, and
# tiny_t5_v11's generate stops at EOS for one input.
VARIANTS = {
    "tiny_t5": (14, dict(d_ff=64, feed_forward_proj="relu", tie_word_embeddings=True)),
    "tiny_t5_v11": (67, dict(d_ff=40, feed_forward_proj="gated-gelu", tie_word_embeddings=False)),
}
MIN_GAP = 0.01  # top-1 minus top-2 logit at each greedy step, so argmax is robust to fp32 noise


def unigram_tokenizer(vocab):
    tok = Tokenizer(models.Unigram(vocab, unk_id=SPECIALS.index("<unk>"), byte_fallback=False))
    tok.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    return tok


def train_unigram():
    """The pieces UnigramTrainer picks, with scores re-estimated here: the trainer's own
    scores differ between runs in the last digits (hash-map order), so they come from a few
    rounds of Viterbi counting on the training text instead, starting from equal scores."""
    tok = unigram_tokenizer([(t, 0.0) for t in SPECIALS])
    trainer = trainers.UnigramTrainer(vocab_size=160, special_tokens=SPECIALS, unk_token="<unk>",
                                      show_progress=False)
    lines = TEXT.splitlines()  # no newline in any piece, as in T5
    tok.train_from_iterator(lines, trainer)
    pieces = sorted(t for t in tok.get_vocab() if t not in SPECIALS)
    scores = {p: 0.0 for p in pieces}
    for _ in range(4):
        counts = dict.fromkeys(pieces, 0.5)
        tok = unigram_tokenizer([(t, 0.0) for t in SPECIALS] + sorted(scores.items()))
        for enc in tok.encode_batch(lines, add_special_tokens=False):
            for t in enc.tokens:
                counts[t] += 1
        total = sum(counts.values())
        scores = {p: round(math.log(c / total), 6) for p, c in counts.items()}
    vocab = [(t, 0.0) for t in SPECIALS] + sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    tok = unigram_tokenizer(vocab)
    assert [tok.token_to_id(t) for t in SPECIALS] == [0, 1, 2]
    tok.add_special_tokens(SPECIALS)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return tok


def write_tokenizer(out_dir, tok):
    tok.save(str(out_dir / "tokenizer.json"))
    config = {"tokenizer_class": "T5Tokenizer", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
              "extra_ids": 0, "additional_special_tokens": [], "model_max_length": 512}
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def make_model(config, seed):
    """T5's own initialisation (embeddings and LM head std 1, projections std fan_in**-0.5),
    then sharper attention (q and k x3, relative-attention biases of std 3, o x3) and a
    smaller feed-forward output (wo x0.5): with T5's init as is, the tied model's greedy
    output repeats one token. Layer-norm weights 1 + 0.1 noise, so a swapped norm shows."""
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(config).float()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if not config.scale_decoder_outputs:
            # transformers 5 always ties lm_head to shared at construction; T5 v1.1 has its own.
            model.lm_head.weight = torch.nn.Parameter(torch.randn(model.lm_head.weight.shape, generator=gen))
            model.all_tied_weights_keys.pop("lm_head.weight", None)
            model.config.tie_word_embeddings = False
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("relative_attention_bias.weight"):
                p.copy_(3.0 * torch.randn(p.shape, generator=gen))
            elif name.endswith((".q.weight", ".k.weight", ".o.weight")):
                p.mul_(3.0)
            elif name.endswith(".wo.weight"):
                p.mul_(0.5)
    return model.eval()


@torch.no_grad()
def forward(model, input_ids, decoder_ids):
    out = model(input_ids=torch.tensor([input_ids]), decoder_input_ids=torch.tensor([decoder_ids]))
    return out.encoder_last_hidden_state[0].float(), out.logits[0].float()


@torch.no_grad()
def greedy(model, input_ids, n):
    """n greedy tokens from decoder_start_token_id, full forward passes, never stopping at EOS."""
    ids = [model.config.decoder_start_token_id]
    for _ in range(n):
        top = forward(model, input_ids, ids)[1][-1].topk(2)
        assert float(top.values[0] - top.values[1]) > MIN_GAP, "near tie: pick another seed"
        ids.append(int(top.indices[0]))
    return ids[1:]


@torch.no_grad()
def generate(model, input_ids, n, repetition_penalty=1.0):
    # transformers sizes the cache it makes from num_layers, not num_decoder_layers, and
    # fails when the decoder is deeper; a lazily grown cache avoids that.
    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    out = model.generate(torch.tensor([input_ids]), max_new_tokens=n, do_sample=False, num_beams=1,
                         repetition_penalty=repetition_penalty, cache=cache)[0].tolist()
    assert out[0] == model.config.decoder_start_token_id
    return out[1:]


REPETITION_PENALTY = 3.0


def case(model, tok, text):
    input_ids = tok.encode(text).ids
    greedy_ids = greedy(model, input_ids, GREEDY_TOKENS)
    decoder_ids = [model.config.decoder_start_token_id] + greedy_ids[:DECODER_TOKENS]
    hidden, logits = forward(model, input_ids, decoder_ids)
    until_eos = generate(model, input_ids, GREEDY_TOKENS)
    assert greedy_ids[:len(until_eos)] == until_eos, (greedy_ids, until_eos)
    return {"input": text, "input_ids": input_ids, "encoder_hidden": rounded(hidden),
            "decoder_input_ids": decoder_ids, "decoder_logits": rounded(logits),
            "greedy_ids": greedy_ids, "greedy_until_eos": until_eos,
            # A repetition penalty reads the decoder's tokens only, never the encoder's input.
            "greedy_penalized": generate(model, input_ids, GREEDY_TOKENS, repetition_penalty=REPETITION_PENALTY)}


def make(name, variant, seed, tok):
    config = T5Config(vocab_size=tok.get_vocab_size() + EXTRA_VOCAB, **COMMON, **variant)
    model = make_model(config, seed)
    out_dir = DATA_DIR / name
    model.save_pretrained(out_dir, safe_serialization=True)
    write_tokenizer(out_dir, tok)
    golden = {"source": f"transformers T5ForConditionalGeneration {variant}, tools/golden/t5.py",
              "decoder_start_token_id": config.decoder_start_token_id, "eos_token_id": config.eos_token_id,
              "cases": [case(model, tok, t) for t in INPUTS]}
    if name == "tiny_t5":
        golden["tokenizer_cases"] = [
            {"text": t, "ids": tok.encode(t).ids,
             "decoded": tok.decode(tok.encode(t).ids, skip_special_tokens=True)} for t in HOSTILE]
    write_json(out_dir / "golden.json", golden)


def main():
    tok = train_unigram()
    for name, (seed, variant) in VARIANTS.items():
        make(name, variant, seed, tok)


if __name__ == "__main__":
    main()
