"""`genrt serve --model <encoder folder>` as a user starts it: the command line sees a BERT
in config.json and serves /v1/embeddings (transformers' pooled embedding of the golden
text), and completions answer that the model serves embeddings. Then a decoder served with
`--embedding-pooling last`: its embeddings are `genrt embed`'s for the same texts, and it
does not generate.

Usage: serve_encoder_test.py GENRT TEST_DATA_DIR"""

import json
import math
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from serve_process import GenrtServer, init_model


def post(url, body):
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def main():
    genrt, data = sys.argv[1], Path(sys.argv[2])
    model = data / "tiny_bert"
    want = json.loads((model / "golden.json").read_text())["inputs"][0]
    with GenrtServer(genrt, model) as server:
        status, out = post(server.url + "/v1/embeddings", {"input": want["text"], "model": "genrt"})
        assert status == 200, out
        got = out["data"][0]["embedding"]
        dot = sum(a * b for a, b in zip(got, want["embedding"]))
        norms = math.sqrt(sum(a * a for a in got)) * math.sqrt(sum(b * b for b in want["embedding"]))
        assert dot / norms >= 0.99999, dot / norms
        assert out["usage"]["prompt_tokens"] == len(want["ids"]), out["usage"]
        status, out = post(server.url + "/v1/completions", {"prompt": "hi"})
        assert status == 400 and "served for embeddings" in out["error"]["message"], (status, out)

    texts = ["Once upon a time", "a second, longer text than the first one"]
    with tempfile.TemporaryDirectory() as tmp:
        decoder = init_model(genrt, Path(tmp) / "tiny")
        printed = subprocess.run([genrt, "embed", "--model", str(decoder), "--embedding-pooling", "last", "--json",
                                  *[arg for text in texts for arg in ("--text", text)]],
                                 check=True, capture_output=True, text=True).stdout
        want = json.loads(printed)
        with GenrtServer(genrt, decoder, "--embedding-pooling", "last") as server:
            status, out = post(server.url + "/v1/embeddings", {"input": texts, "model": "genrt"})
            assert status == 200, out
            for got, expected in zip(out["data"], want):
                worst = max(abs(a - b) for a, b in zip(got["embedding"], expected["embedding"]))
                assert len(got["embedding"]) == len(expected["embedding"]) and worst <= 1e-6, worst
            assert out["usage"]["prompt_tokens"] == sum(w["tokens"] for w in want), out["usage"]
            status, out = post(server.url + "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
            assert status == 400 and "--embedding-pooling" in out["error"]["message"], (status, out)
    print("ok")


if __name__ == "__main__":
    main()
