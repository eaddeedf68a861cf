"""Golden data for genrt's BERT and RoBERTa encoders and the WordPiece tokenizer, from
Hugging Face transformers and tokenizers on the CPU:
  tiny_bert     BertForMaskedLM with seeded random weights, a WordPiece tokenizer.json
                trained on a built-in text (lower-casing, accents stripped), and a
                sentence-transformers pooling config (mean, normalized)
  tiny_roberta  RobertaForMaskedLM (positions from padding_idx + 1, one token type), its
                sentence-transformers config asking for the CLS token
  tiny_xlmr     XLMRobertaForMaskedLM (RoBERTa's graph under model_type "xlm-roberta"), with
                byte-for-byte copies of tokenizers/precompiled's XLM-R-style tokenizer.json
                (SentencePiece Unigram, Precompiled nmt_nfkc normalizer, <mask> = 251) and
                tokenizer_config.json, CLS pooling; its inputs are texts whose ids come from
                that tokenizer (full-width letters, a ligature, accents, <mask>)
Each golden.json holds, per input: the token ids (and, for tiny_bert and tiny_xlmr, the text
they encode), the last hidden states, the masked-LM logits and the pooled embedding;
tiny_bert's also holds the tokenizer's ids of hostile strings (accents, CJK, punctuation,
control characters, overlong words) and their decoding.

Usage: python tools/golden/bert.py   (needs torch, transformers, safetensors, tokenizers)
"""

import json
import shutil

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (BertConfig, BertForMaskedLM, RobertaConfig, RobertaForMaskedLM, XLMRobertaConfig,
                          XLMRobertaForMaskedLM)

from common import DATA_DIR, rounded, write_json

TEXT = """The quick brown fox jumps over the lazy dog. Paris is the capital of France, and
Berlin is the capital of Germany. Un café à Zürich coûte cher! Transformers encode text into
vectors; embeddings power retrieval and search. Hello, world: 42 apples, 7 pears. Naïve résumé
fiancée. Machine learning models learn representations of words and sentences."""

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

HOSTILE = [
    "Hello, World!",
    "Naïve RÉSUMÉ fiancée ÅNGSTRÖM",
    "Paris is the [MASK] of France.",
    "unaffable transformers-based embeddings",
    "中文字符 and 日本語 mixed",
    "tabs\tand\nnewlines\r\nand  double  spaces",
    "control\u0000chars\u0007and\u200bzero width",
    "emoji 🤗👍🏽 and symbols ©®™ $100.50",
    "a" * 120 + " overlong",
    "",
    "   ",
    "!!!???...",
    "İstanbul ΣΊΣΥΦΟΣ straße",
]

INPUTS = ["The quick brown fox.", "Paris is the [MASK] of France.", "embeddings power retrieval"]

# Through the Precompiled (nmt_nfkc) normalizer: full-width letters and digits, the "fi"
# ligature, a fraction and a trademark sign (NFKC), accents (kept; "Zü" is not in the vocabulary
# and becomes one <unk>), a run of spaces (Replace) and trailing spaces (Strip); <mask> takes the
# space before it (lstrip). Short texts: each token costs 252 logits in golden.json.
XLMR_INPUTS = ["Ｐａｒｉｓ is the <mask> of France.",
               "ﬁnance ＡＢＣ１２３ ½ ™",
               "Naïve  résumé, café à Zürich  "]


def train_wordpiece():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=160, special_tokens=SPECIALS, min_frequency=1)
    tok.train_from_iterator([TEXT], trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def seeded(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_(1.0 + 0.1 * noise if "LayerNorm.weight" in name or "layer_norm.weight" in name else 0.2 * noise)
    return model.eval()


@torch.no_grad()
def outputs(model, base, ids, pooling):
    out = model(torch.tensor([ids]), output_hidden_states=True)
    hidden = out.hidden_states[-1][0]
    pooled = hidden[0] if pooling == "cls" else hidden.mean(dim=0)
    pooled = torch.nn.functional.normalize(pooled, dim=0)
    return {"ids": ids, "hidden": rounded(hidden), "mlm_logits": rounded(out.logits[0]),
            "embedding": [float(f"{v:.7g}") for v in pooled.tolist()]}


def write_sentence_transformers(out_dir, pooling):
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    (out_dir / "modules.json").write_text(json.dumps(modules, indent=1) + "\n")
    (out_dir / "1_Pooling").mkdir(exist_ok=True)
    (out_dir / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": 32, "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False}, indent=1) + "\n")


def bert(tok):
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=64, max_position_embeddings=40,
                        type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12)
    torch.manual_seed(3)
    model = seeded(BertForMaskedLM(config).float(), 3)
    out_dir = DATA_DIR / "tiny_bert"
    model.save_pretrained(out_dir)
    tok.save(str(out_dir / "tokenizer.json"))
    write_sentence_transformers(out_dir, "mean")
    golden = {"source": "transformers BertForMaskedLM + tokenizers WordPiece, tools/golden/bert.py",
              "pooling": "mean",
              "inputs": [dict(text=t, **outputs(model, model.bert, tok.encode(t).ids, "mean")) for t in INPUTS],
              "wordpiece": [{"text": t, "ids": tok.encode(t).ids, "decoded": tok.decode(tok.encode(t).ids)}
                            for t in HOSTILE]}
    write_json(out_dir / "golden.json", golden)


def roberta():
    config = RobertaConfig(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=64, max_position_embeddings=34, type_vocab_size=1,
                           pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)
    torch.manual_seed(4)
    model = seeded(RobertaForMaskedLM(config).float(), 4)
    out_dir = DATA_DIR / "tiny_roberta"
    model.save_pretrained(out_dir)
    write_sentence_transformers(out_dir, "cls")
    prompts = [[0, 40, 41, 7, 90, 3, 2], [0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 2]]
    golden = {"source": "transformers RobertaForMaskedLM, tools/golden/bert.py", "pooling": "cls",
              "inputs": [outputs(model, model.roberta, ids, "cls") for ids in prompts]}
    write_json(out_dir / "golden.json", golden)


def xlmr():
    src = DATA_DIR / "tokenizers" / "precompiled"
    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    config = XLMRobertaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                              num_attention_heads=4, intermediate_size=64, max_position_embeddings=34,
                              type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                              layer_norm_eps=1e-5)
    torch.manual_seed(5)
    model = seeded(XLMRobertaForMaskedLM(config).float(), 5)
    out_dir = DATA_DIR / "tiny_xlmr"
    model.save_pretrained(out_dir)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(src / name, out_dir / name)
    write_sentence_transformers(out_dir, "cls")
    golden = {"source": "transformers XLMRobertaForMaskedLM + tokenizers/precompiled's tokenizer.json, "
                        "tools/golden/bert.py",
              "pooling": "cls",
              "inputs": [dict(text=t, **outputs(model, model.roberta, tok.encode(t).ids, "cls")) for t in XLMR_INPUTS]}
    write_json(out_dir / "golden.json", golden)


def main():
    bert(train_wordpiece())
    roberta()
    xlmr()


if __name__ == "__main__":
    main()
