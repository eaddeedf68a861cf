"""DiT denoising step time: genrt next to diffusers, same model, same shapes, same threads.

Makes a random-weight DiT pipeline folder with `genrt init-model --arch dit` (diffusers
layout, so diffusers loads the very same weights), then for each batch size times one
denoising step with classifier-free guidance (the denoiser runs 2 x batch samples):
  genrt:     `genrt diffuse ... --steps N+1`, the median of the step times its progress
             lines report after the first (warm-up) step: denoiser forward + guidance +
             scheduler step + the NaN check;
  diffusers: DiTTransformer2DModel forward on 2 x batch latents (torch SDPA attention),
             median of N after one warm-up call.
Prints one JSON line per case (and appends them to --json FILE).

Usage: python bench/dit_step.py [--preset tiny|dit-xl-2-256] [--batch 1,8] [--steps 5]
                                [--threads 2] [--device cpu|cuda] [--genrt build/genrt]
On cuda both run in fp16 (diffusers' DiT with PyTorch SDPA, genrt with --dtype fp16).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def genrt_step_seconds(genrt, model_dir, batch, steps, threads, device):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    command = [genrt, "diffuse", "--model", model_dir, "--class-label", "207", "--batch", str(batch),
               "--steps", str(steps + 1), "--guidance", "4", "--scheduler", "ddim", "--seed", "0", "--device", device]
    if device == "cuda":
        command += ["--dtype", "fp16"]
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise RuntimeError(run.stderr.strip().splitlines()[-1])
    # Progress lines ("[###...] 3/6  t=901.0  12.34 it/s ..."): one step's rate each.
    step_s = [1.0 / float(rate) for rate in re.findall(r"\d+/\d+\s+t=\s*\S+\s+(\S+) it/s", run.stderr)]
    if len(step_s) != steps + 1:
        raise RuntimeError(f"found {len(step_s)} progress lines in genrt diffuse's output, expected {steps + 1}:\n"
                           + run.stderr[-2000:])
    return statistics.median(step_s[1:])


@torch.no_grad()
def diffusers_step_seconds(model_dir, batch, steps, device):
    from diffusers import DiTTransformer2DModel
    dtype = torch.float16 if device == "cuda" else torch.float32
    model = DiTTransformer2DModel.from_pretrained(Path(model_dir) / "transformer", torch_dtype=dtype).to(device).eval()
    c, s = model.config.in_channels, model.config.sample_size
    latents = torch.randn((2 * batch, c, s, s), generator=torch.Generator().manual_seed(0)).to(device, dtype)
    timesteps = torch.full((2 * batch,), 500, device=device)
    labels = torch.tensor([207] * batch + [1000] * batch, device=device)

    def step():
        model(latents, timestep=timesteps, class_labels=labels)
        if device == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--batch", default="1,8", help="images per step (the denoiser runs twice as many)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--genrt", default=str(ROOT / "build" / "genrt"))
    ap.add_argument("--json", help="append the JSON lines to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = str(Path(tmp) / "dit")
        subprocess.run([args.genrt, "init-model", "--arch", "dit", "--preset", args.preset, "--dtype", "f32",
                        "--out", model_dir], check=True, capture_output=True)
        lines = []
        for batch in (int(b) for b in args.batch.split(",")):
            peer = diffusers_step_seconds(model_dir, batch, args.steps, args.device)
            ours = genrt_step_seconds(args.genrt, model_dir, batch, args.steps, args.threads, args.device)
            line = dict(bench="dit_step", preset=args.preset, images=batch, denoiser_batch=2 * batch,
                        device=args.device, threads=args.threads, genrt_s_per_step=round(ours, 5),
                        diffusers_s_per_step=round(peer, 5),
                        ratio_vs_peer=round(peer / ours, 3),
                        peer=f"diffusers {__import__('diffusers').__version__} torch {torch.__version__}")
            print(json.dumps(line))
            lines.append(line)
        if args.json:
            with open(args.json, "a") as out:
                for line in lines:
                    out.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    sys.exit(main())
