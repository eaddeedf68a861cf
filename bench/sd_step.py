"""Stable Diffusion UNet step and seconds per image: genrt next to diffusers, same weights, same session.

Makes a random-weight pipeline folder with `genrt init-model --arch sd` (diffusers layout, so
diffusers' StableDiffusionPipeline loads the very same weights; f16 files on cuda, f32 on the
CPU), then for each batch size, image size and step count generates images with classifier-free
guidance (guidance 7.5, empty negative prompt, so the UNet runs 2 x batch samples), the same
scheduler passed to both (--scheduler, DDIM by default: SD 1.5's own), and measures:

  UNet step
    genrt:     the median of the step times in `genrt txt2img`'s progress lines (1/it/s, printed
               to 4 significant digits), the first step of every run left out as warm-up: UNet
               forward + guidance + scheduler step + the NaN check, which reads a count back and
               so synchronizes the GPU once per step;
    diffusers: UNet2DConditionModel forward on 2 x batch latents at timestep 500 with the
               prompt's and the empty prompt's text states, PyTorch SDPA attention (diffusers'
               AttnProcessor2_0, recorded in the line), median of --reps calls after 3 warm-up
               calls, each followed by torch.cuda.synchronize on cuda.
  Seconds per image
    genrt:     `total` of txt2img's last line (setup = tokenizer + text encoder + buffers +
               initial noise, the denoising loop, VAE decode and the copy to host; not the model
               load nor the PNG write), median over --runs processes, divided by the batch; the
               loop and the VAE are reported apart. Each run is a fresh process, so one-time
               costs in the first step (cuDNN plans, ...) count against genrt:
               genrt_first_step_s shows them. genrt prints these times to 10 ms.
    diffusers: wall time of pipe(prompt, num_inference_steps, guidance_scale=7.5, height, width,
               generator, output_type="np") (text encoder, loop, VAE decode, float images on the
               host; no PIL conversion), median of --runs calls after one warm-up call with the
               same arguments; the VAE decode of the batch's latents is also timed alone.
Every genrt run comes first, then diffusers loads in this process: the same GPU session, and
genrt plans its memory on a GPU diffusers does not hold.

ratio_vs_peer_* = diffusers time / genrt time: above 1, genrt is faster. Issue 26's target is
ratio_vs_peer_image >= 1.5 for SD 1.5 at 512x512 and 50 steps on cuda (`target` in that line).
Prints one JSON line per case (and appends them to --json FILE), a summary per case to stderr.

Usage: python bench/sd_step.py [--preset sd15|sd21|tiny] [--size 512] [--steps 30,50] [--batch 1]
                               [--device cuda|cpu] [--genrt build/genrt] [--json out.jsonl]
On cuda both run in fp16 (diffusers with torch_dtype=torch.float16, genrt with --dtype fp16);
on the CPU both in fp32. CPU smoke test (well under a minute):
  python bench/sd_step.py --preset tiny --size 64 --steps 4 --device cpu
"""

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
GUIDANCE = 7.5
TARGET_RATIO = 1.5  # issue 26: seconds per SD 1.5 512x512 image at 50 steps, vs diffusers fp16 + SDPA
# genrt's --scheduler names -> diffusers scheduler classes built from the folder's scheduler config.
SCHEDULERS = {
    "ddim": ("DDIMScheduler", {}),
    "ddpm": ("DDPMScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler-a": ("EulerAncestralDiscreteScheduler", {}),
    "dpm++2m": ("DPMSolverMultistepScheduler", {}),
    "dpm++2m-karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
}

# `print_diffusion_progress` (tools/genrt/common.cpp): "[####....] 3/30  t=901.0   12.34 it/s  ..."
PROGRESS = re.compile(r"^\[[#.]*\] (\d+)/(\d+)\s+t=\s*\S+\s+(\S+) it/s", re.MULTILINE)
# cmd_txt2img.cpp's last line.
SUMMARY = re.compile(r"\[genrt\] (\d+) steps in ([\d.]+) s \([\d.]+ it/s\), text encoder and setup ([\d.]+) s, "
                     r"VAE ([\d.]+) s, total ([\d.]+) s(?:, peak device memory (.+?) \(planned at load\))?")


class GenrtOutputError(RuntimeError):
    pass


def stderr_tail(text, lines=25):
    return "\n".join("    " + line for line in text.replace("\r", "\n").strip().splitlines()[-lines:])


def parse_txt2img(stderr, steps):
    """Step seconds (from the progress lines) and the last line's times of one `genrt txt2img` run."""
    text = stderr.replace("\r", "\n")  # a terminal gets \r-separated progress; a pipe gets lines
    step_s = {}
    for step, total, its in PROGRESS.findall(text):
        if int(total) != steps:
            raise GenrtOutputError(f"progress line says {step}/{total} steps, expected {steps}")
        step_s[int(step)] = 1.0 / float(its)
    if sorted(step_s) != list(range(1, steps + 1)):
        raise GenrtOutputError(f"found progress lines for steps {sorted(step_s)}, expected 1..{steps}")
    summary = SUMMARY.search(text)
    if summary is None:
        raise GenrtOutputError("no '[genrt] N steps in X s (...), text encoder and setup A s, VAE B s, total T s' line")
    if int(summary.group(1)) != steps:
        raise GenrtOutputError(f"the last line reports {summary.group(1)} steps, expected {steps}")
    return dict(step_s=[step_s[i] for i in range(1, steps + 1)], loop_s=float(summary.group(2)),
                setup_s=float(summary.group(3)), vae_s=float(summary.group(4)), total_s=float(summary.group(5)),
                device_memory=summary.group(6))


def genrt_runs(args, model_dir, out_dir, batch, size, steps):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    command = [args.genrt, "txt2img", "--model", model_dir, "--prompt", args.prompt, "--steps", str(steps),
               "--guidance", str(GUIDANCE), "--scheduler", args.scheduler, "--seed", "0", "--width", str(size),
               "--height", str(size), "--batch", str(batch), "--out", str(Path(out_dir) / "image.png"),
               "--device", args.device]
    if args.device == "cuda":
        command += ["--dtype", "fp16"]
    runs = []
    for _ in range(args.runs):
        start = time.perf_counter()
        run = subprocess.run(command, capture_output=True, text=True, env=env)
        wall_s = time.perf_counter() - start
        if run.returncode != 0:
            raise SystemExit(f"sd_step: `{shlex.join(command)}` exited with {run.returncode}; its stderr ends:\n"
                             f"{stderr_tail(run.stderr)}")
        try:
            parsed = parse_txt2img(run.stderr, steps)
        except GenrtOutputError as e:
            raise SystemExit(f"sd_step: cannot read genrt txt2img's output ({e}); command `{shlex.join(command)}`, "
                             f"its stderr ends:\n{stderr_tail(run.stderr)}")
        parsed["process_s"] = wall_s
        runs.append(parsed)
    after_warmup = [s for r in runs for s in r["step_s"][1:]]
    if not after_warmup:
        raise SystemExit(f"sd_step: --steps {steps} leaves no step after the first (warm-up) one: use 2 or more")

    def median(key):
        return statistics.median(r[key] for r in runs)

    return dict(s_per_step=statistics.median(after_warmup),
                first_step_s=statistics.median(r["step_s"][0] for r in runs),
                total_s=median("total_s"), loop_s=median("loop_s"), vae_s=median("vae_s"), setup_s=median("setup_s"),
                process_s=median("process_s"), totals_s=[r["total_s"] for r in runs],
                device_memory=runs[0]["device_memory"])


class Diffusers:
    """diffusers' StableDiffusionPipeline over the same folder, loaded once."""

    def __init__(self, model_dir, scheduler, device):
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # before the import: its torchvision notes
        import diffusers
        import transformers
        from diffusers import StableDiffusionPipeline
        for library in (diffusers, transformers):
            library.utils.logging.set_verbosity_error()
            library.utils.logging.disable_progress_bar()
        self.device = device
        self.dtype = torch.float16 if device == "cuda" else torch.float32
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch_dtype's rename to dtype in newer diffusers
            pipe = StableDiffusionPipeline.from_pretrained(model_dir, torch_dtype=self.dtype, safety_checker=None,
                                                           requires_safety_checker=False)
        class_name, overrides = SCHEDULERS[scheduler]
        pipe.scheduler = getattr(diffusers, class_name).from_config(pipe.scheduler.config, **overrides)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(device)
        self.attention = sorted({type(p).__name__ for p in pipe.unet.attn_processors.values()})
        self.version = f"diffusers {diffusers.__version__} torch {torch.__version__}"

    def sync(self):
        if self.device == "cuda":
            torch.cuda.synchronize()

    def timed(self, call):
        self.sync()
        start = time.perf_counter()
        result = call()
        self.sync()
        return time.perf_counter() - start, result

    @torch.no_grad()
    def unet_step_seconds(self, prompt, batch, size, reps):
        pipe = self.pipe
        positive, negative = pipe.encode_prompt(prompt, self.device, batch, True, negative_prompt=None)
        states = torch.cat([negative, positive])  # diffusers' order: unconditional half first
        f = pipe.vae_scale_factor
        latents = torch.randn((2 * batch, pipe.unet.config.in_channels, size // f, size // f),
                              generator=torch.Generator().manual_seed(0)).to(self.device, self.dtype)
        t = torch.tensor(500, device=self.device)

        def step():
            return pipe.unet(latents, t, encoder_hidden_states=states, return_dict=False)[0]

        for _ in range(3):
            step()
        return statistics.median(self.timed(step)[0] for _ in range(reps))

    @torch.no_grad()
    def image_seconds(self, prompt, batch, size, steps, runs):
        def generate():
            generator = torch.Generator(self.device).manual_seed(0)
            return self.pipe(prompt, num_inference_steps=steps, guidance_scale=GUIDANCE, height=size, width=size,
                             num_images_per_prompt=batch, generator=generator, output_type="np")

        generate()  # warm-up
        if self.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        seconds = [self.timed(generate)[0] for _ in range(runs)]
        peak_gib = torch.cuda.max_memory_allocated() / 2**30 if self.device == "cuda" else None
        return statistics.median(seconds), seconds, peak_gib

    @torch.no_grad()
    def vae_seconds(self, batch, size, runs):
        vae, f = self.pipe.vae, self.pipe.vae_scale_factor
        latents = torch.randn((batch, vae.config.latent_channels, size // f, size // f),
                              generator=torch.Generator().manual_seed(0)).to(self.device, self.dtype)

        def decode():
            return vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]

        decode()  # warm-up
        return statistics.median(self.timed(decode)[0] for _ in range(runs))


def provenance(device):
    commit = os.environ.get("GENRT_COMMIT")
    if not commit:
        try:
            commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                                    check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            commit = None
    name = torch.cuda.get_device_name() if device == "cuda" else (platform.processor() or platform.machine())
    return commit, name


def csv_ints(text):
    return [int(v) for v in text.split(",")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="sd15", help="genrt init-model --arch sd preset: sd15, sd21, tiny")
    ap.add_argument("--model", help="use this pipeline folder instead of making one from --preset")
    ap.add_argument("--size", default="512", help="image width = height in pixels; a comma list for several")
    ap.add_argument("--steps", default="30,50", help="denoising steps per image; a comma list for several")
    ap.add_argument("--batch", default="1", help="images per prompt (the UNet runs twice as many); a comma list")
    ap.add_argument("--scheduler", default="ddim", choices=sorted(SCHEDULERS), help="passed to both")
    ap.add_argument("--prompt", default="a photograph of an astronaut riding a horse")
    ap.add_argument("--reps", type=int, default=20, help="timed diffusers UNet calls per case")
    ap.add_argument("--runs", type=int, default=3, help="timed images (genrt processes, diffusers calls) per case")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    ap.add_argument("--genrt", default=str(ROOT / "build" / "genrt"))
    ap.add_argument("--json", help="append the JSON lines to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("sd_step: --device cuda, but this torch sees no GPU (use --device cpu for the smoke test)")
    cases = [(b, s, n) for b in csv_ints(args.batch) for s in csv_ints(args.size) for n in csv_ints(args.steps)]

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model
        if model_dir is None:
            model_dir = str(Path(tmp) / "sd")
            weights = "f16" if args.device == "cuda" else "f32"
            made = subprocess.run([args.genrt, "init-model", "--arch", "sd", "--preset", args.preset,
                                   "--dtype", weights, "--out", model_dir], capture_output=True, text=True)
            if made.returncode != 0:
                raise SystemExit(f"sd_step: genrt init-model failed; its stderr ends:\n{stderr_tail(made.stderr)}")
        ours = {case: genrt_runs(args, model_dir, tmp, *case) for case in cases}
        peer = Diffusers(model_dir, args.scheduler, args.device)
        commit, device_name = provenance(args.device)

        lines = []
        for batch, size, steps in cases:
            g = ours[(batch, size, steps)]
            peer_step = peer.unet_step_seconds(args.prompt, batch, size, args.reps)
            peer_image, peer_images, peer_gib = peer.image_seconds(args.prompt, batch, size, steps, args.runs)
            peer_vae = peer.vae_seconds(batch, size, args.runs)
            ratio_image = peer_image / g["total_s"]
            target = None
            if args.preset == "sd15" and args.model is None and size == 512 and steps == 50 and args.device == "cuda":
                target = dict(ratio_vs_peer_image=TARGET_RATIO, met=ratio_image >= TARGET_RATIO)
            line = dict(
                bench="sd_step", preset=args.preset if args.model is None else Path(args.model).name,
                width=size, height=size, steps=steps, images=batch, unet_batch=2 * batch, guidance=GUIDANCE,
                scheduler=args.scheduler, device=args.device, device_name=device_name,
                dtype="fp16" if args.device == "cuda" else "fp32", threads=args.threads, commit=commit,
                genrt_s_per_step=round(g["s_per_step"], 6), diffusers_s_per_step=round(peer_step, 6),
                ratio_vs_peer_step=round(peer_step / g["s_per_step"], 3),
                genrt_s_per_image=round(g["total_s"] / batch, 4), diffusers_s_per_image=round(peer_image / batch, 4),
                ratio_vs_peer_image=round(ratio_image, 3), target=target,
                genrt=dict(total_s=g["total_s"], totals_s=g["totals_s"], loop_s=g["loop_s"], vae_s=g["vae_s"],
                           loop_plus_vae_s=round(g["loop_s"] + g["vae_s"], 4), setup_s=g["setup_s"],
                           first_step_s=round(g["first_step_s"], 6), process_s=round(g["process_s"], 3),
                           device_memory=g["device_memory"], runs=args.runs),
                diffusers=dict(total_s=round(peer_image, 4), totals_s=[round(s, 4) for s in peer_images],
                               vae_s=round(peer_vae, 4), output_type="np", attention=peer.attention,
                               peak_memory_gib=round(peer_gib, 3) if peer_gib is not None else None,
                               unet_reps=args.reps, runs=args.runs),
                peer=peer.version)
            print(json.dumps(line), flush=True)
            print(f"[sd_step] {line['preset']} {size}x{size} {steps} {args.scheduler} steps, batch {batch}, "
                  f"{args.device}: UNet step genrt {g['s_per_step'] * 1e3:.2f} ms, diffusers {peer_step * 1e3:.2f} ms "
                  f"({line['ratio_vs_peer_step']}x); per image genrt {line['genrt_s_per_image']} s, diffusers "
                  f"{line['diffusers_s_per_image']} s ({line['ratio_vs_peer_image']}x)"
                  + (f"; target {TARGET_RATIO}x {'met' if target['met'] else 'NOT met'}" if target else ""),
                  file=sys.stderr)
            lines.append(line)
        if args.json:
            with open(args.json, "a") as out:
                for line in lines:
                    out.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    sys.exit(main())
