"""`genrt serve --model <encoder folder>` as a user starts it: the command line sees a BERT
in config.json and serves /v1/embeddings (transformers' pooled embedding of the golden
text), and completions answer that the model is an encoder.

Usage: serve_encoder_test.py GENRT TEST_DATA_DIR"""

import json
import math
import sys
import urllib.error
import urllib.request
from pathlib import Path

from serve_process import GenrtServer


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
        assert status == 400 and "encoder" in out["error"]["message"], (status, out)
    print("ok")


if __name__ == "__main__":
    main()
