"""Golden encodings from the Hugging Face `tokenizers` library, for genrt's tokenizer.json
loader. For each tokenizer, a list of tricky strings (as hex bytes: some are not valid
UTF-8) with the ids `tokenizers` gives them, with and without special tokens.

  gpt2         ../shared/tokenizers/gpt2/tokenizer.json (read there, not copied)
  bytelevel/   trained here: byte-level BPE, NFC, Llama 3's Split regex, ignore_merges,
               BOS added by a TemplateProcessing post-processor, added special and
               non-special tokens
  sentencepiece/ trained here: SentencePiece-style BPE (Prepend + Replace normalizer,
               byte_fallback, <unk>), Llama 2's decoder chain, add_bos_token in
               tokenizer_config.json
  unigram/     trained here: SentencePiece Unigram as T5 and XLM-R use it (NFKC, Metaspace,
               <unk> fused, </s> appended by the post-processor)
  whitespace_split/ the unigram model as T5's tokenizer.json on the Hub runs it: the
               WhitespaceSplit pre-tokenizer before Metaspace
  whitespace/  trained here: BPE behind the Whitespace pre-tokenizer (words and punctuation
               runs), with no decoder
The last two also get strings of every Unicode White_Space character and of near-misses.

Invalid UTF-8 is encoded as `tokenizers` sees it after Python's lossy decoding
(errors="replace", one U+FFFD per maximal invalid subpart), which genrt reproduces.

Usage: python tools/golden/tokenizers_golden.py   (needs tokenizers)
"""

import json
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from common import DATA_DIR, write_json

SHARED_GPT2 = Path(__file__).resolve().parents[3] / "shared" / "tokenizers" / "gpt2" / "tokenizer.json"
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

TRAINING_TEXT = """Once upon a time, in a small town by the sea, there lived a girl named Lily.
She loved to read stories about dragons, robots and faraway stars. Every morning she'd walk
to the library; she didn't mind the rain. "I'll find the best book today!" she said.
The librarian smiled: 'You've read 1,234 books already, haven't you?' Lily laughed.
Numbers like 3.14159, 2024 and 42 were her favourites, and so were café, naïve and résumé.
def tokenize(text):\n    return [t for t in text.split()]\n
Tabs\tand  double  spaces,   triple spaces, and newlines\n\n\nall appear in real text.
""" * 4

STRINGS = [
    "Hello world",
    "hello  world   with    spaces",
    " leading space",
    "trailing space ",
    "\n\nnewlines\nand\r\nCRLF\n",
    "\ttabs\tand mixed \t whitespace",
    "Numbers: 1 12 123 1234 12345 3.14159 -42 1,000,000",
    "Contractions: I'm you're it's we'll they'd can't Don'T",
    "Accents: café naïve résumé Ångström façade",
    "Decomposed: cafe\u0301 (e + combining acute)",
    "CJK: 你好，世界。日本語のテキスト 한국어",
    "Emoji: 😀 👍🏽 🇫🇷",
    "ZWJ: 👨\u200d👩\u200d👧\u200d👦 and 🏳\ufe0f\u200d🌈",
    "Mixed script: Привет мир, Γειά σου Κόσμε",
    "code: def f(x):\n    return x**2  # square",
    "punctuation!!! ??? ... ---- ((()))",
    "",
    " ",
    "a",
    "   ",
]

INVALID_UTF8 = [b"bad \xff byte", b"truncated \xe2\x82", b"\xf0\x9f\x98 cut emoji", b"overlong \xc0\xaf",
                b"surrogate \xed\xa0\x80 half", b"\x80\x80 lone continuation"]


# White_Space characters (Rust's char::is_whitespace) among letters, and characters that
# look blank but are not White_Space (zero-width space and joiners, U+180E, BOM).
WHITESPACE_STRINGS = [
    "a\u0085b\u00a0c\u1680d\u2000e\u200af\u2028g\u2029h\u202fi\u205fj\u3000k",
    "tab\tnl\nvt\x0bff\x0ccr\rend",
    "zero\u200bwidth\u200cnon\u200djoiner\u180emongolian\ufeffbom",
    "\u3000\u3000ideographic\u3000spaces\u3000",
    "under_score snake_case CamelCase x2 2x a-b a.b 'quoted' \"dq\"",
    "cafe\u0301 na\u0308ive \u0915\u093f\u0924\u093e\u092c \u0e20\u0e32\u0e29\u0e32",
    "....!!!,,, ;; (a) [b] {c}",
]


def with_specials(tokens):
    """Strings that contain the tokenizer's added tokens, to check they are never split."""
    return [f"{t}Hello{t} world" for t in tokens] + [f"x {tokens[0]} y {tokens[-1]}"]


def train_bytelevel():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([TRAINING_TEXT], trainer)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B",
                                                       special_tokens=[("<|begin_of_text|>", bos)])
    tok.add_special_tokens(["<|eot_id|>", "<|start_header_id|>"])
    tok.add_tokens(["<custom>"])
    return tok, {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}


def train_sentencepiece():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    # Train on words (Metaspace splits), then run as Llama 2's tokenizer.json does: no
    # pre-tokenizer, the normalizer adds the prefix and replaces spaces.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    specials = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=specials, limit_alphabet=60,
                                  show_progress=False)
    tok.train_from_iterator([TRAINING_TEXT], trainer)
    tok.pre_tokenizer = None
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
                 "add_eos_token": False}


def train_unigram():
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                                      show_progress=False)
    tok.train_from_iterator([TRAINING_TEXT], trainer)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return tok, {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}


def train_whitespace():
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=["[UNK]", "[SEP]"], show_progress=False)
    tok.train_from_iterator([TRAINING_TEXT], trainer)
    return tok, {"unk_token": "[UNK]", "sep_token": "[SEP]"}


def whitespace_split(unigram):
    tok, config = unigram
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")])
    return tok, config


def cases(tok, special_tokens, extra=()):
    out = []
    texts = [s.encode() for s in STRINGS + list(extra) + with_specials(special_tokens)] + INVALID_UTF8
    for raw in texts:
        text = raw.decode("utf-8", errors="replace")
        plain = tok.encode(text, add_special_tokens=False).ids
        out.append({
            "text_hex": raw.hex(),
            "ids": plain,
            "ids_with_special": tok.encode(text, add_special_tokens=True).ids,
            "decoded": tok.decode(plain, skip_special_tokens=False).encode().hex(),
        })
    return out


def save(name, tok, config, extra=()):
    out_dir = DATA_DIR / "tokenizers" / name
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    specials = [t.content for t in tok.get_added_tokens_decoder().values()]
    write_json(out_dir / "golden.json", {"source": "tokenizers " + __import__("tokenizers").__version__,
                                         "cases": cases(tok, specials, extra)})


def main():
    gpt2 = Tokenizer.from_file(str(SHARED_GPT2))
    write_json(DATA_DIR / "tokenizers" / "gpt2_golden.json",
               {"source": "tokenizers " + __import__("tokenizers").__version__ + ", ../shared/tokenizers/gpt2",
                "cases": cases(gpt2, ["<|endoftext|>"])})
    save("bytelevel", *train_bytelevel())
    save("sentencepiece", *train_sentencepiece())
    save("unigram", *train_unigram())
    save("whitespace_split", *whitespace_split(train_unigram()), extra=WHITESPACE_STRINGS)
    save("whitespace", *train_whitespace(), extra=WHITESPACE_STRINGS)


if __name__ == "__main__":
    main()
