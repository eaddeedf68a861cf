"""PyTorch as a benchmark peer for `genrt bench --torch-peer PYTHON`.

genrt writes the cases it ran (one JSON object per line: id, suite, op, shape, dtype,
device, model) to --cases; this script times PyTorch doing the same work on the same
device and dtype and writes one line per case to --out: {"id", "peer", "median_ms",
"p10_ms", "p90_ms"}, or {"id", "skipped": why}. genrt merges the times into its result
lines, so the peer runs in the same session, on the same machine, with the same shapes.

Peers: F.rms_norm / F.layer_norm (the adaLN modulation and residual adds as the eager ops
a PyTorch model runs), F.scaled_dot_product_attention (the flash backend on CUDA where it
takes the case; GQA through enable_gqa), F.linear, softmax + top-k + top-p sampling,
diffusers' DiTTransformer2DModel for a DiT step, transformers' BertModel (SDPA) for
e2e-embed's batches, and for e2e-decode transformers'
LlamaForCausalLM (random weights) decoding with a static KV cache, its one-token step
compiled with torch.compile(mode="reduce-overhead", fullgraph=True) on CUDA (gpt-fast's
approach; eager on the CPU). Timing matches genrt's: warm-up, then CUDA events
(perf_counter on the CPU) until 1 s or 200 runs, the L2 cache flushed before each run of a
memory-bound op; a decode step is timed at each position of a real generation instead
(prompt, then new_tokens steps, the first few of them warm-up), since each advances the cache.
"""

import argparse
import contextlib
import gc
import inspect
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


def embed_case(s, model, dtype, device):
    """transformers' BertModel (SDPA where the build has it) on a batch of s["tokens"]-token
    inputs, mean-pooled, as genrt's e2e-embed suite runs its encoder."""
    try:
        from transformers import BertConfig, BertModel
        import transformers
    except ImportError as e:
        raise Skip(f"transformers is not installed: {e}")
    config = BertConfig(vocab_size=model["vocab"], hidden_size=model["hidden"], num_hidden_layers=model["layers"],
                        num_attention_heads=model["heads"], intermediate_size=model["intermediate"],
                        max_position_embeddings=model["positions"], attn_implementation="sdpa")
    bert = BertModel(config, add_pooling_layer=False).to(device, dtype).eval()
    ids = torch.arange(s["batch"] * s["tokens"], device=device).reshape(s["batch"], s["tokens"]) % model["vocab"]

    @torch.no_grad()
    def embed():
        return bert(input_ids=ids).last_hidden_state.mean(dim=1)

    return embed, f"transformers {transformers.__version__} BertModel (sdpa)"


DECODE_WARMUP = {"cuda": 5, "cpu": 2}  # CUDA: compile, cudagraph warm-up run, recording, then replays


@contextlib.contextmanager
def default_dtype(dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def llama_config(model):
    from transformers import LlamaConfig
    if model["hidden"] != model["heads"] * model["head_dim"] and "head_dim" not in inspect.signature(
            LlamaConfig.__init__).parameters:
        raise Skip("this transformers' LlamaConfig has no head_dim (hidden != heads x head_dim)")
    return LlamaConfig(
        hidden_size=model["hidden"], intermediate_size=model["intermediate"], num_hidden_layers=model["layers"],
        num_attention_heads=model["heads"], num_key_value_heads=model["kv_heads"], head_dim=model["head_dim"],
        vocab_size=model["vocab"], max_position_embeddings=model["context"], rope_theta=model["rope_theta"],
        rms_norm_eps=model["rms_norm_eps"], tie_word_embeddings=False)


def static_cache(config, batch, max_len, dtype, device):
    try:
        from transformers import StaticCache
    except ImportError as e:
        raise Skip(f"this transformers has no StaticCache: {e}")
    # Up to 4.55 the cache is allocated up front, so it takes the batch (`batch_size` in
    # 4.45-4.50, `max_batch_size` before and after), device and dtype; 4.54-4.55 take them
    # through **kwargs. From 4.56 it takes config and max_cache_len, allocates on the prefill's
    # first update with the batch, device and dtype of the keys it sees, and ignores **kwargs.
    params = inspect.signature(StaticCache.__init__).parameters
    any_kwargs = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {"config": config, "max_cache_len": max_len}
    kwargs["batch_size" if "batch_size" in params else "max_batch_size"] = batch
    kwargs.update(device=device, dtype=dtype)
    kwargs = {k: v for k, v in kwargs.items() if k in params or any_kwargs}
    return StaticCache(**kwargs)


def decode_timing(case, compiled):
    """Greedy decode of a random-weight Llama with a static KV cache: prefill the prompt
    (eager: it allocates the cache and must not be compiled), then one step per new token.
    Returns (median, p10, p90) of the steps after the warm-up and the peer's name."""
    try:
        import transformers
        from transformers import LlamaForCausalLM
    except ImportError as e:
        raise Skip(f"transformers is not installed: {e}")
    m, device, dtype = case["model"], case["device"], DTYPES[case["dtype"]]
    batch, prompt, new = case["shape"]["batch"], case["prompt_tokens"], case["new_tokens"]
    warmup = DECODE_WARMUP[device]
    if new <= warmup:
        raise Skip(f"needs more than {warmup} new tokens (the warm-up steps)")
    config = llama_config(m)
    with torch.device(device), default_dtype(dtype):  # random init in place: 8B in fp32 on the host is 32 GB
        model = LlamaForCausalLM(config).eval()
    cache = static_cache(config, batch, prompt + new, dtype, device)
    # The argument is `past_key_values` (`cache` from about 5.2x), and the write position comes
    # in as cache_position until 5.x drops it (by 5.10) for the position the cache keeps itself.
    params = inspect.signature(model.forward).parameters
    cache_kw = "cache" if "cache" in params else "past_key_values"
    with_position = "cache_position" in params

    def forward(tokens, position):
        kwargs = {cache_kw: cache, "use_cache": True}
        if with_position:
            kwargs["cache_position"] = position
        return model(input_ids=tokens, **kwargs).logits[:, -1].argmax(-1, keepdim=True)

    step = torch.compile(forward, mode="reduce-overhead", fullgraph=True) if compiled else forward
    mark_step = getattr(torch.compiler, "cudagraph_mark_step_begin", None) if compiled else None

    def decode(tokens, position):
        if not compiled:
            return forward(tokens, position)
        if mark_step is not None:
            mark_step()
        try:
            # clone: the next replay of the CUDA graph overwrites its output, which is this step's input
            return step(tokens, position).clone()
        except Exception as e:  # compiling, recording or recompiling: not every one is a RuntimeError
            lines = str(e).strip().splitlines() or [""]
            raise Skip(f"torch.compile failed: {type(e).__name__}: {lines[0]}")

    with torch.no_grad():
        prompt_ids = torch.randint(0, m["vocab"], (batch, prompt), device=device)
        tokens = forward(prompt_ids, torch.arange(prompt, device=device))
        position = torch.tensor([prompt], device=device)
        for _ in range(warmup):  # compiled: the first calls compile, warm up and record the CUDA graph
            tokens = decode(tokens, position)
            position += 1
        samples = []
        for _ in range(new - warmup):
            if device == "cuda":
                begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                begin.record()
                tokens = decode(tokens, position)
                end.record()
                end.synchronize()
                samples.append(begin.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                tokens = decode(tokens, position)
                samples.append(1e3 * (time.perf_counter() - t0))
            position += 1
    samples.sort()
    kind = "static cache + torch.compile" if compiled else "static cache (eager)"
    name = f"transformers {transformers.__version__} {kind}"
    return (statistics.median(samples), percentile(samples, 0.1), percentile(samples, 0.9)), name


def decode_case(case):
    try:
        return decode_timing(case, compiled=case["device"] == "cuda")
    finally:
        if case["device"] == "cuda":
            torch.compiler.reset()  # compiled code and its CUDA-graph pool hold the weights


def release():
    """Frees what the case left (an 8B-shaped model is 16 GB) before the next one allocates."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


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
    if suite == "e2e-embed":
        return embed_case(s, case["model"], dtype, device)
    raise Skip(f"no PyTorch peer for the {suite} suite")


_results = {}  # genrt times each e2e case with and without CUDA graphs: one peer run serves both


def timed_case(case):
    if case["suite"] == "e2e-decode":  # each step advances the cache: timed where it runs
        return decode_case(case)
    fn, name = peer_for(case)
    return time_op(fn, case["device"], case["suite"] in MEMORY_BOUND), name


def run_case(case):
    if case["suite"] not in ("e2e-decode", "e2e-denoise"):
        return timed_case(case)
    shape = {k: v for k, v in case["shape"].items() if k != "cuda_graphs"}
    key = json.dumps([case["suite"], case["model"], shape, case.get("prompt_tokens"), case.get("new_tokens"),
                      case["dtype"], case["device"]], sort_keys=True)
    if key not in _results:
        _results[key] = timed_case(case)
    return _results[key]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    cases = [json.loads(line) for line in open(args.cases) if line.strip()]
    with open(args.out, "w") as out:
        for case in cases:
            try:
                (median, p10, p90), name = run_case(case)
                line = {"id": case["id"], "peer": f"{name} (torch {torch.__version__})", "median_ms": median,
                        "p10_ms": p10, "p90_ms": p90}
            except Skip as e:
                line = {"id": case["id"], "skipped": str(e)}
            except RuntimeError as e:  # e.g. no flash kernel for this shape: say so, keep going
                line = {"id": case["id"], "skipped": f"PyTorch failed: {str(e).splitlines()[0]}"}
            out.write(json.dumps(line) + "\n")
            print(json.dumps(line), file=sys.stderr)
            release()


if __name__ == "__main__":
    sys.exit(main())
