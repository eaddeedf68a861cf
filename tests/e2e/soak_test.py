"""Soak test for genrt serve: 64 concurrent clients for a bounded time, mixing normal
streamed and non-streamed requests, clients that hang up mid-stream, prompts over the
context, malformed JSON, fields of the wrong type, bodies that are not UTF-8, slow readers
(a byte a second) and half-open connections (headers never finished). The server must
answer every request with a well-formed response (a 408 for the half-open ones), stay
up, and return to its baseline: KV blocks all free and resident memory back near where
it was after warm-up.

Usage: python tests/e2e/soak_test.py GENRT_BINARY [--seconds 30]
"""

import argparse
import http.client
import json
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from serve_process import GenrtServer  # noqa: E402

CONTEXT = 512  # the tiny preset's
REQUEST_TIMEOUT = 2  # seconds, the server's --request-timeout: half-open clients wait this long for their 408


def rss_kib(pid):
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))


def metric(port, name):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))


class Failure(Exception):
    pass


def check_json_error(status, body, expected_status):
    if status != expected_status:
        raise Failure(f"expected HTTP {expected_status}, got {status}: {body[:200]!r}")
    error = json.loads(body).get("error")
    if not error or not error.get("message"):
        raise Failure(f"error response without an OpenAI error object: {body[:200]!r}")


def half_open(port):
    """Headers that never end: the server must answer 408 once its request timeout passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT + 30) as sock:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    status, _, rest = reply.partition(b"\r\n")
    if not status.startswith(b"HTTP/1.1 408 "):
        raise Failure(f"half-open connection: expected 408, got {reply[:200]!r}")
    check_json_error(408, rest.partition(b"\r\n\r\n")[2], 408)
    return "half_open"


def one(port, rng):
    """One random request; raises Failure if the response is not what it must be."""
    kind = rng.choice(["stream", "stream", "whole", "hangup", "oversized", "malformed", "wrong_type", "bad_utf8",
                       "slow_reader", "half_open"])
    if kind == "half_open":
        return half_open(port)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    body = {"prompt": "soak " * rng.randint(1, 40), "max_tokens": rng.randint(1, 48), "temperature": 0.7}
    if kind == "oversized":
        body["prompt"] = [7] * (CONTEXT + rng.randint(0, 100))
    if kind == "wrong_type":
        body[rng.choice(["max_tokens", "temperature", "n", "stop"])] = {"not": "right"}
    payload = "{\"prompt\": [1, 2" if kind == "malformed" else json.dumps(
        dict(body, stream=kind in ("stream", "hangup", "slow_reader")))
    if kind == "bad_utf8":
        payload = payload.encode().replace(b"soak", b"so\xffak", 1)
    conn.request("POST", "/v1/completions", payload, headers)
    response = conn.getresponse()
    if kind in ("oversized", "malformed", "wrong_type", "bad_utf8"):
        error = response.read()
        check_json_error(response.status, error, 400)
        if kind == "bad_utf8" and b"byte 0xFF at offset 14" not in error:
            raise Failure(f"invalid UTF-8 not located: {error[:200]!r}")
        return kind
    if response.status == 429:  # capacity: a well-formed refusal is a valid answer
        check_json_error(response.status, response.read(), 429)
        return "refused"
    if response.status != 200:
        raise Failure(f"{kind}: HTTP {response.status}: {response.read()[:200]!r}")
    if kind == "whole":
        result = json.loads(response.read())
        if result["usage"]["completion_tokens"] > body["max_tokens"] or "text" not in result["choices"][0]:
            raise Failure(f"bad completion: {result}")
        return kind
    if kind == "slow_reader":  # a byte a second for a few seconds, then gone
        for _ in range(3):
            if not response.read(1):
                break
            time.sleep(1)
        conn.close()
        return kind
    chunks = 0
    for raw in response:
        line = raw.decode().strip()
        if not line:
            continue
        if not line.startswith("data: "):
            raise Failure(f"not an SSE data line: {line[:100]!r}")
        if line == "data: [DONE]":
            return kind
        json.loads(line[6:])
        chunks += 1
        if kind == "hangup" and chunks >= 2:
            conn.close()  # the server must notice and stop this sequence
            return kind
    if kind == "hangup":
        return kind  # finished before we hung up
    raise Failure("stream ended without data: [DONE]")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("genrt")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--no-rss-check", action="store_true",
                    help="skip the memory check (sanitizer builds: ASan's quarantine holds freed memory)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "tiny"
        subprocess.run([args.genrt, "init-model", "--preset", "tiny", "--out", str(model)], check=True, capture_output=True)
        with GenrtServer(args.genrt, model, "--max-queue", "48", "--kv-cache-tokens", "4096",
                         "--request-timeout", str(REQUEST_TIMEOUT)) as server:
            counts, failures, lock = {}, [], threading.Lock()

            def client(seed, until):
                rng = random.Random(seed)
                while time.time() < until:
                    try:
                        kind = one(server.port, rng)
                        with lock:
                            counts[kind] = counts.get(kind, 0) + 1
                    except Exception as e:  # noqa: BLE001: every failure is reported
                        with lock:
                            failures.append(f"{type(e).__name__}: {e}")

            def run(seconds, first_seed):
                until = time.time() + seconds
                threads = [threading.Thread(target=client, args=(first_seed + i, until)) for i in range(args.concurrency)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()

            run(min(5.0, args.seconds / 4), 0)  # warm-up: allocator pools and caches reach steady state
            baseline = rss_kib(server.proc.pid)
            run(args.seconds, 1000)
            deadline = time.time() + 10
            while metric(server.port, "genrt_kv_blocks_used") > 0 and time.time() < deadline:
                time.sleep(0.1)
            used = metric(server.port, "genrt_kv_blocks_used")
            final = rss_kib(server.proc.pid)
            alive = server.proc.poll() is None
        # A clean shutdown exits 0; in a sanitizer build LeakSanitizer makes a leak fail it.
        exit_code = server.proc.returncode
    print(f"soak: {sum(counts.values())} requests {counts}, {len(failures)} failures, KV blocks used at the end "
          f"{used:.0f}, RSS {baseline} -> {final} KiB, server exit code {exit_code}")
    for f in failures[:10]:
        print("  " + f)
    growth_ok = args.no_rss_check or final <= baseline * 1.25 + 32 * 1024
    if failures or used != 0 or not alive or not growth_ok or exit_code != 0:
        print("SOAK FAILED" + ("" if growth_ok else ": resident memory grew past baseline"))
        sys.exit(1)


if __name__ == "__main__":
    main()
