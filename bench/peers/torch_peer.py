"""PyTorch as a benchmark peer for `genrt bench --torch-peer PYTHON`.

genrt writes the cases it ran (one JSON object per line: id, suite, op, shape, dtype,
device, model) to --cases; this script times PyTorch doing the same work on the same
device and dtype and writes one line per case to --out: {"id", "peer", "median_ms",
"p10_ms", "p90_ms"}, or {"id", "skipped": why}. genrt merges the times into its result
lines, so the peer runs in the same session, on the same machine, with the same shapes.

Peers: F.rms_norm / F.layer_norm (the adaLN modulation and residual adds as the eager ops
a PyTorch model runs), F.scaled_dot_product_attention (the flash backend on CUDA where it
takes the case; GQA through enable_gqa), F.linear, softmax + top-k + top-p sampling, and
diffusers' DiTTransformer2DModel for a DiT step. Timing matches genrt's: warm-up, then
CUDA events (perf_counter on the CPU) until 1 s or 200 runs, the L2 cache flushed before
each run of a memory-bound op.
"""

import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}
MEMORY_BOUND = {"norm", "rope", "attention-decode", "sampling"}


class Skip(Exception):
    pass


def percentile(sorted_ms, q):
    return sorted_ms[max(1, math.ceil(q * len(sorted_ms))) - 1]


def time_op(fn, device, flush_l2, max_seconds=1.0, max_reps=200):
    flush = None
    if device == "cuda" and flush_l2:
        flush = torch.empty(2 * torch.cuda.get_device_properties(0).L2_cache_size, dtype=torch.uint8, device="cuda")
    for _ in range(3):
        fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < max_reps and (len(samples) < 10 or time.perf_counter() - start < max_seconds):
        if flush is not None:
            flush.zero_()
        if device == "cuda":
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            fn()
            end.record()
            end.synchronize()
            samples.append(begin.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            samples.append(1e3 * (time.perf_counter() - t0))
    samples.sort()
    return statistics.median(samples), percentile(samples, 0.1), percentile(samples, 0.9)


def randn(*shape, dtype, device, scale=1.0):
    return (torch.randn(*shape, device=device, dtype=torch.float32) * scale).to(dtype)


def norm_case(op, s, dtype, device):
    rows, dim = s["rows"], s["dim"]
    x, res = randn(rows, dim, dtype=dtype, device=device), randn(rows, dim, dtype=dtype, device=device)
    w, b = randn(dim, dtype=dtype, device=device), randn(dim, dtype=dtype, device=device)
    groups = rows // 256 if rows % 256 == 0 else 1
    gate, shift, scale = (randn(groups, 1, dim, dtype=dtype, device=device) for _ in range(3))
    ops = {
        "rmsnorm": lambda: F.rms_norm(x, (dim,), w, 1e-5),
        "add_rmsnorm": lambda: F.rms_norm(x + res, (dim,), w, 1e-5),
        "layernorm": lambda: F.layer_norm(x, (dim,), w, b, 1e-5),
        "add_layernorm": lambda: F.layer_norm(x + res, (dim,), w, b, 1e-5),
        "modulated_layernorm": lambda: (
            F.layer_norm((res.view(groups, -1, dim) + gate * x.view(groups, -1, dim)), (dim,), eps=1e-6)
            * (1 + scale) + shift),
    }
    if op not in ops:
        raise Skip(f"no PyTorch peer for {op}")
    return ops[op], "torch eager"


def sdpa(q, k, v, causal, device):
    gqa = q.shape[1] != k.shape[1]
    if device == "cuda":
        from torch.nn.attention import SDPBackend, sdpa_kernel
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)


def attention_case(suite, s, dtype, device):
    heads, kv_heads, d = s["heads"], s["kv_heads"], s["head_dim"]
    if suite == "attention-prefill":
        b, n, causal = s["batch"], s["seq"], s["causal"]
        q = randn(b, heads, n, d, dtype=dtype, device=device)
        k, v = (randn(b, kv_heads, n, d, dtype=dtype, device=device) for _ in range(2))
    else:  # decode: one query per sequence over a contiguous cache (PyTorch has no paged one)
        b, n, causal = s["batch"], s["context"], False
        q = randn(b, heads, 1, d, dtype=dtype, device=device)
        k, v = (randn(b, kv_heads, n, d, dtype=dtype, device=device) for _ in range(2))
    sdpa(q, k, v, causal, device)  # raises here if the flash backend refuses the case
    name = "torch SDPA flash" if device == "cuda" else "torch SDPA"
    return (lambda: sdpa(q, k, v, causal, device)), name


def gemm_case(s, dtype, device):
    x = randn(s["m"], s["k"], dtype=dtype, device=device, scale=0.1)
    w = randn(s["n"], s["k"], dtype=dtype, device=device, scale=0.1)
    return (lambda: F.linear(x, w)), "torch F.linear"


def sampling_case(s, device):
    logits = randn(s["rows"], s["vocab"], dtype=torch.float32, device=device, scale=4.0)
    gen = torch.Generator(device=device).manual_seed(1)

    def sample():
        probs = torch.softmax(logits / 0.8, dim=-1)
        top, idx = probs.topk(50, dim=-1)
        keep = top.cumsum(-1) - top < 0.9
        top = torch.where(keep, top, torch.zeros_like(top))
        return idx.gather(-1, torch.multinomial(top, 1, generator=gen))

    return sample, "torch softmax+topk+multinomial"


def dit_case(s, model, dtype, device):
    try:
        from diffusers import DiTTransformer2DModel
    except ImportError as e:
        raise Skip(f"diffusers is not installed: {e}")
    dit = DiTTransformer2DModel(
        num_attention_heads=model["heads"], attention_head_dim=model["hidden"] // model["heads"],
        in_channels=model["channels"], out_channels=model["out_channels"], num_layers=model["layers"],
        sample_size=model["sample_size"], patch_size=model["patch"], num_embeds_ada_norm=model["classes"],
    ).to(device, dtype).eval()
    n = 2 * s["images"]
    latents = randn(n, model["channels"], model["sample_size"], model["sample_size"], dtype=dtype, device=device)
    t = torch.full((n,), 500, device=device)
    labels = torch.tensor([207] * s["images"] + [model["classes"]] * s["images"], device=device)

    @torch.no_grad()
    def step():
        out = dit(latents, timestep=t, class_labels=labels).sample
        cond, uncond = out[: n // 2, : model["channels"]], out[n // 2:, : model["channels"]]
        return uncond + model["guidance"] * (cond - uncond)

    import diffusers
    return step, f"diffusers {diffusers.__version__} DiT"


def peer_for(case):
    suite, op, s = case["suite"], case["op"], case["shape"]
    dtype, device = DTYPES[case["dtype"]], case["device"]
    if suite == "norm":
        return norm_case(op, s, dtype, device)
    if suite in ("attention-prefill", "attention-decode"):
        return attention_case(suite, s, dtype, device)
    if suite == "gemm":
        return gemm_case(s, dtype, device)
    if suite == "sampling":
        return sampling_case(s, device)
    if suite == "e2e-denoise":
        return dit_case(s, case["model"], dtype, device)
    raise Skip(f"no PyTorch peer for the {suite} suite")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    cases = [json.loads(line) for line in open(args.cases) if line.strip()]
    with open(args.out, "w") as out:
        for case in cases:
            try:
                fn, name = peer_for(case)
                median, p10, p90 = time_op(fn, case["device"], case["suite"] in MEMORY_BOUND)
                line = {"id": case["id"], "peer": f"{name} (torch {torch.__version__})", "median_ms": median,
                        "p10_ms": p10, "p90_ms": p90}
            except Skip as e:
                line = {"id": case["id"], "skipped": str(e)}
            except RuntimeError as e:  # e.g. no flash kernel for this shape: say so, keep going
                line = {"id": case["id"], "skipped": f"PyTorch failed: {str(e).splitlines()[0]}"}
            out.write(json.dumps(line) + "\n")
            print(json.dumps(line), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
