"""Load benchmark for `genrt serve`: N concurrent streaming clients, each sending
requests back to back, and the figures that matter for serving — output tokens/s over
the run, time to first token and inter-token latency percentiles.

Either point it at a running server (--url) or let it start one (--genrt BIN --model DIR).
Prints one JSON line per concurrency level (and a table on stderr).

  python bench/serve_load.py --genrt build/genrt --model DIR --concurrency 1 8 64 \
      --requests 128 --prompt-words 64 --max-tokens 64

With --shared-prefix N the requests are chats that share one system prompt of N tokens
(the prompt words become each chat's own question): the prefix-caching workload. Each
line then also has the prefill tokens the server computed (from /metrics) and the mean
cached prompt tokens it reported; compare against `--server-args=--no-prefix-caching`.
"""

import argparse
import http.client
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from serve_process import GenrtServer  # noqa: E402

WORDS = ("the quick brown fox jumps over a lazy dog while robots read old books about "
         "the sea and stars in a quiet town").split()


def headers_for(api_key):
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    return headers


def post(url, path, body, api_key):
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    conn.request("POST", path, json.dumps(body), headers_for(api_key))
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {response.read()[:200]}")
    return conn, response


def one_request(url, model, prompt, max_tokens, api_key, system=None):
    """Streams one completion (a chat when there is a system prompt); returns (ttft,
    [inter-token gaps], usage)."""
    body = {"max_tokens": max_tokens, "stream": True, "temperature": 0.8, "ignore_eos": True,
            "stream_options": {"include_usage": True}}
    if model:
        body["model"] = model
    if system is None:
        path, body["prompt"] = "/v1/completions", prompt
    else:
        path, body["messages"] = "/v1/chat/completions", [{"role": "system", "content": system},
                                                          {"role": "user", "content": prompt}]
    start = time.perf_counter()
    conn, response = post(url, path, body, api_key)
    first, last, gaps, usage = None, None, [], {}
    for raw in response:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        if chunk.get("usage"):
            usage = chunk["usage"]
            continue
        if not any(c.get("text") or c.get("delta", {}).get("content") for c in chunk["choices"]):
            continue  # a chat's opening role chunk carries no token
        now = time.perf_counter()
        if first is None:
            first = now - start
        else:
            gaps.append(now - last)
        last = now
    conn.close()
    return first, gaps, usage


def prompt_tokens(url, model, text, api_key):
    """The tokens of `text` as a completion prompt (max_tokens 0: nothing is computed)."""
    body = {"prompt": text, "max_tokens": 0}
    if model:
        body["model"] = model
    conn, response = post(url, "/v1/completions", body, api_key)
    tokens = json.loads(response.read())["usage"]["prompt_tokens"]
    conn.close()
    return tokens


def system_prompt(url, model, tokens, api_key, seed):
    """Seeded words, as few as make at least `tokens` tokens (found by bisection; a word is
    at least one token)."""
    rng = random.Random(seed)
    words = [rng.choice(WORDS) for _ in range(tokens)]
    lo, hi = 1, len(words)
    while lo < hi:
        mid = (lo + hi) // 2
        if prompt_tokens(url, model, " ".join(words[:mid]), api_key) >= tokens:
            hi = mid
        else:
            lo = mid + 1
    return " ".join(words[:lo])


def server_counter(url, name):
    """A counter of the server's /metrics (0 when absent)."""
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def mean(values):
    return statistics.fmean(values) if values else float("nan")


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_level(url, model, concurrency, requests, prompt_words, max_tokens, api_key, seed, system=None):
    rng = random.Random(seed)
    prompts = [" ".join(rng.choice(WORDS) for _ in range(prompt_words)) for _ in range(requests)]
    lock = threading.Lock()
    ttfts, gaps, tokens, errors, cached, prompt_lengths = [], [], [0], [], [], []
    queue = list(range(requests))
    prefill_before = server_counter(url, "genrt_prefill_tokens_total")

    def client():
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop()
            try:
                t, g, usage = one_request(url, model, prompts[i], max_tokens, api_key, system)
            except Exception as e:  # counted, reported
                with lock:
                    errors.append(str(e))
                continue
            with lock:
                ttfts.append(t)
                gaps.extend(g)
                tokens[0] += usage["completion_tokens"]
                prompt_lengths.append(usage["prompt_tokens"])
                cached.append(usage.get("prompt_tokens_details", {}).get("cached_tokens", 0))

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {
        "bench": "serve_load", "concurrency": concurrency, "requests": requests, "prompt_words": prompt_words,
        "max_tokens": max_tokens, "errors": len(errors), "seconds": round(elapsed, 3),
        "prompt_tokens_mean": round(mean(prompt_lengths), 1), "cached_tokens_mean": round(mean(cached), 1),
        "prefill_tokens": int(server_counter(url, "genrt_prefill_tokens_total") - prefill_before),
        "ttft_ms_mean": round(1000 * mean(ttfts), 2),
        "output_tokens": tokens[0], "output_tokens_per_s": round(tokens[0] / elapsed, 1),
        "ttft_ms_p50": round(1000 * percentile(ttfts, 50), 2), "ttft_ms_p99": round(1000 * percentile(ttfts, 99), 2),
        "itl_ms_p50": round(1000 * percentile(gaps, 50), 3), "itl_ms_p99": round(1000 * percentile(gaps, 99), 3),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8080")
    ap.add_argument("--genrt", help="genrt binary: start `genrt serve` for the run")
    ap.add_argument("--model", help="model directory for --genrt")
    ap.add_argument("--served-model-name", help="the name requests send (default: none, which genrt accepts)")
    ap.add_argument("--api-key", default="")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--requests", type=int, default=128, help="requests per concurrency level")
    ap.add_argument("--prompt-words", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shared-prefix", type=int, default=0, metavar="N",
                    help="chats sharing a system prompt of N tokens (the prompt words are each one's question)")
    ap.add_argument("--server-args", default="", help="extra arguments for genrt serve")
    args = ap.parse_args()
    if not args.url and not (args.genrt and args.model):
        ap.error("give --url, or --genrt and --model")

    server = None
    if not args.url:
        name = ["--served-model-name", args.served_model_name] if args.served_model_name else []
        server = GenrtServer(args.genrt, args.model, *name, *args.server_args.split())
        args.url = server.url
    try:
        system = None
        if args.shared_prefix > 0:
            system = system_prompt(args.url, args.served_model_name, args.shared_prefix, args.api_key, args.seed)
        for c in args.concurrency:
            result = run_level(args.url, args.served_model_name, c, max(args.requests, c), args.prompt_words,
                               args.max_tokens, args.api_key, args.seed, system)
            result["shared_prefix"] = args.shared_prefix
            print(json.dumps(result), flush=True)
            print(f"concurrency {c:3d}: {result['output_tokens_per_s']:9.1f} output tok/s, TTFT p50 "
                  f"{result['ttft_ms_p50']:.1f} ms p99 {result['ttft_ms_p99']:.1f} ms, ITL p50 "
                  f"{result['itl_ms_p50']:.2f} ms p99 {result['itl_ms_p99']:.2f} ms, prefill tokens "
                  f"{result['prefill_tokens']}, cached tokens/request {result['cached_tokens_mean']}, "
                  f"errors {result['errors']}", file=sys.stderr)
    finally:
        if server:
            server.close()


if __name__ == "__main__":
    main()
