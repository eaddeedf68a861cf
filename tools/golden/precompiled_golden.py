"""Golden data for genrt's `Precompiled` normalizer: the SentencePiece charsmap (a serialized
Darts-clone double-array trie plus a pool of NUL-terminated replacement strings) that
XLM-RoBERTa's and T5's tokenizer.json carry as
{"type": "Precompiled", "precompiled_charsmap": "<base64>"}.

  precompiled/  a SentencePiece Unigram model trained here with the `nmt_nfkc` rule set
                (XLM-R's and T5's), converted to tokenizer.json by transformers'
                XLMRobertaConverter (normalizer: Sequence[Precompiled, Strip(right),
                Replace(" {2,}", "\u2581")], Metaspace, <s> $A </s>), plus XLM-R's added
                special tokens and a tokenizer_config.json

golden.json holds, for each hostile string (as hex bytes; all valid UTF-8), the ids with and
without special tokens, the decoded text and two normalizer outputs (hex bytes):
"normalized" for the tokenizer's whole normalizer and "precompiled_only" for the Precompiled
normalizer alone (`tokenizers.normalizers.Precompiled(charsmap)`).

Usage: python tools/golden/precompiled_golden.py
       (needs tokenizers, transformers, sentencepiece and protobuf)
"""

import json
import tempfile
from pathlib import Path

import sentencepiece as spm
import tokenizers
import transformers
from sentencepiece import sentencepiece_model_pb2
from tokenizers import AddedToken, normalizers
from transformers.convert_slow_tokenizer import XLMRobertaConverter

from common import DATA_DIR, write_json
from tokenizers_golden import TRAINING_TEXT, with_specials

MULTILINGUAL_TEXT = """Café naïve résumé Ångström façade déjà vu, Ærøskøbing, Łódź, Škoda, São Paulo.
Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３！ ﬁnance ﬂow ﬀ ﬃ ① ② ③ ⑳ Ⅻ Ⅳ ⅷ ½ ² ™ ㎏ ㍿ ｶﾞｷﾞ
你好，世界。日本語のテキストです。東京と京都。한국어 텍스트입니다. 서울.
مرحبا بالعالم. السلام عليكم. Привет мир, как дела? Γειά σου Κόσμε. שלום עולם. नमस्ते दुनिया.
cafe\u0301 e\u0300 o\u0308 zero\u200bwidth\u200cjoin non\u00a0breaking\u3000ideographic… tabs\tand ctrl\x07.
"""

STRINGS = [
    "",
    " ",
    "     ",
    "\u00a0\u00a0\u00a0",
    "\u3000",
    "  leading and trailing  ",
    "Hello world",
    "Café naïve résumé Ångström façade",
    "cafe\u0301 e\u0300\u0301 o\u0308\u0304 n\u0303",
    "\u0301 leading combining mark, then a\u0301\u0301\u0301",
    "e" + "\u0301" * 20,
    "A\u030a\u0301 \u212b \u2126 \u212a",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３！？（ｘ）",
    "ＡＢＣ\u3000ＤＥＦ\u3000\u3000ＧＨＩ",
    "ﬁnance ﬂow ﬀ ﬃ ﬄ ﬆ ﬅ",
    "① ② ⑳ ㉑ ㊿ ⓐ Ⓐ ⑴ ⒈ ⒜",
    "Ⅻ Ⅳ ⅷ ↉ ⅟",
    "½ ¼ ² ³ ₁ ™ ℃ ℉ № ㎏ ㍿ ㌀ ㋿ ℡",
    "x² H₂O 10⁻³ m³ 𝐇𝐞𝐥𝐥𝐨 𝕎𝕠𝕣𝕝𝕕",
    "…...‥ ‼ ⁇ —–-",
    "你好，世界。日本語のテキスト 한국어",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af",
    "ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ ｱｲｳ ﾟ ゛゜",
    "مرحبا بالعالم ﷺ ﷽ ﻻ ﺍﻟ",
    "\u0627\u0644\u0652\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u0651\u064e\u0629",
    "zero\u200bwidth\u200cnon\u200djoiner\u2060word\ufeffbom\u00adshy",
    "ctrl\x00nul\x01\x07bell\x1b[0m\x7fdel \x85nel \x9f",
    "tabs\tand\nnewlines\r\nCRLF\x0bvt\x0cff\u2028ls\u2029ps",
    "non\u00a0breaking\u3000ideographic\u2002en\u2003em\u2009thin\u202fnarrow\u205fmath",
    "Ǆ ǅ ǆ Ĳ ŉ ſt ß ẞ ﬀ",
    "¨ ´ ¸ ˘ ˜ ΅ ῁",
    "กำ ไทย ລາວ ཀྵ",
    "क्षि नमस्ते दुनिया",
    "👍🏽 👨\u200d👩\u200d👧\u200d👦 🏳\ufe0f\u200d🌈 🇫🇷 👩🏿\u200d🔬",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f ❤\ufe0f 葛\U000e0100",
    "Привет мир, Γειά σου Κόσμε, שלום, नमस्ते, 東京",
    "字\u0301 ا\u0301 я\u0301",
    "\ufffd replacement \ufffd\ufffd",
    "a" * 300,
    "x" + " " * 200 + "y",
    "\u00a0" * 64 + "nbsp",
    "ﬁ" * 100,
    "①" * 50 + "Ⅻ" * 50,
]


def train_model(path):
    """A small SentencePiece Unigram model with the `nmt_nfkc` normalization rules."""
    spm.set_random_generator_seed(0)
    lines = [line for line in (TRAINING_TEXT + MULTILINGUAL_TEXT * 8).splitlines() if line.strip()]
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_prefix=str(path.with_suffix("")),
                                   model_type="unigram", vocab_size=250, hard_vocab_limit=False,
                                   character_coverage=1.0, normalization_rule_name="nmt_nfkc",
                                   num_threads=1, minloglevel=2)
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(path.read_bytes())
    return proto


class SlowTokenizer:
    """What XLMRobertaConverter reads from a (transformers 4) slow XLMRobertaTokenizer."""
    add_prefix_space = True

    def __init__(self, vocab_file, proto):
        self.vocab_file = str(vocab_file)
        self.ids = {piece: i for i, (piece, _) in enumerate(XLMRobertaConverter.vocab(None, proto))}

    def convert_tokens_to_ids(self, token):
        return self.ids[token]


def build():
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "sentencepiece.bpe.model"
        proto = train_model(model)
        tok = XLMRobertaConverter(SlowTokenizer(model, proto)).converted()
    # XLM-R's tokenizer.json lists its special tokens as added tokens (<mask> eats the space before it).
    tok.add_special_tokens([AddedToken(t, special=True) for t in ("<s>", "<pad>", "</s>", "<unk>")] +
                           [AddedToken("<mask>", lstrip=True, special=True)])
    charsmap = proto.normalizer_spec.precompiled_charsmap
    assert charsmap and proto.normalizer_spec.name == "nmt_nfkc"
    config = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
              "pad_token": "<pad>", "mask_token": "<mask>"}
    return tok, charsmap, config


def main():
    tok, charsmap, config = build()
    spec = json.loads(tok.to_str())["normalizer"]
    assert spec["type"] == "Sequence" and spec["normalizers"][0]["type"] == "Precompiled", spec["type"]
    precompiled = normalizers.Precompiled(charsmap)
    out_dir = DATA_DIR / "tokenizers" / "precompiled"
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    specials = [t.content for t in tok.get_added_tokens_decoder().values()]
    out = []
    for text in STRINGS + with_specials(specials):
        plain = tok.encode(text, add_special_tokens=False).ids
        out.append({
            "text_hex": text.encode().hex(),
            "ids": plain,
            "ids_with_special": tok.encode(text, add_special_tokens=True).ids,
            "decoded": tok.decode(plain, skip_special_tokens=False).encode().hex(),
            "normalized": tok.normalizer.normalize_str(text).encode().hex(),
            "precompiled_only": precompiled.normalize_str(text).encode().hex(),
        })
    source = (f"tokenizers {tokenizers.__version__}, transformers {transformers.__version__} XLMRobertaConverter, "
              f"sentencepiece {spm.__version__} nmt_nfkc")
    write_json(out_dir / "golden.json", {"source": source, "cases": out})


if __name__ == "__main__":
    main()
