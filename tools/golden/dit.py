"""Golden data for genrt's DiT denoiser, its noise schedulers and the class-conditional
denoising loop, from Hugging Face diffusers on the CPU.

Writes into tests/data/:
  tiny_dit/                  a DiT pipeline folder in diffusers' layout: transformer/
                             (DiTTransformer2DModel, seeded random fp32 weights, learned
                             sigma) and scheduler/ (DDIMScheduler, DiT-XL-2-256's settings)
  dit_golden.json            the transformer's output for fixed inputs (noisy latents,
                             timesteps, class labels including the null class), and a full
                             10-step DDIM loop with classifier-free guidance run by
                             diffusers' own DiTPipeline from a saved initial noise
  dit_init_noise.npy         that initial noise, for `genrt diffuse --init-noise`
  scheduler_golden.json      for each scheduler configuration: timesteps, sigmas, the model
                             input scale and the sample after every step, for a fixed
                             sequence of model outputs (and noise where a step draws some)

Usage: python tools/golden/dit.py   (needs torch, diffusers, safetensors, numpy)
"""

import json

import numpy as np
import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DiTPipeline,
    DiTTransformer2DModel,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
)

from common import DATA_DIR, write_json

# 8x8x4 latents in 2x2 patches: 16 tokens; 2 heads of 24 (not a power of two). 1000 classes
# as in ImageNet, because DiTPipeline hard-codes the null class label 1000.
TINY_DIT = dict(
    num_attention_heads=2,
    attention_head_dim=24,
    in_channels=4,
    out_channels=8,
    num_layers=2,
    sample_size=8,
    patch_size=2,
    num_embeds_ada_norm=1000,
)

# facebook/DiT-XL-2-256's scheduler settings.
DIT_SCHEDULER = dict(
    beta_start=0.0001, beta_end=0.02, beta_schedule="linear", clip_sample=False,
    num_train_timesteps=1000, set_alpha_to_one=True, steps_offset=0,
)


def flat(t):
    return [float(f"{v:.7g}") for v in t.detach().float().reshape(-1).tolist()]


def randomize(model, seed):
    """Weights with enough spread that every path matters: the adaLN projections get a
    large scale so that gates and shifts are far from zero (diffusers' default init would
    leave them small but nonzero; DiT's training init zeroes them)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            std = 0.5 if "norm1.linear" in name or "proj_out_1" in name else 0.15
            p.copy_(torch.randn(p.shape, generator=gen) * std)


def write_npy(path, array):
    np.save(path, np.ascontiguousarray(array, dtype=np.float32))
    print(f"wrote {path}")


class LatentCapture(torch.nn.Module):
    """Stands in for DiTPipeline's VAE: keeps the final latents instead of decoding them."""

    class Config(dict):
        __getattr__ = dict.__getitem__

    def __init__(self):
        super().__init__()
        self.config = self.Config(scaling_factor=1.0)
        self.latents = None
        self.device = torch.device("cpu")  # the pipeline asks each module for these
        self.dtype = torch.float32

    def decode(self, latents):
        self.latents = latents.clone()

        class Out:
            sample = latents
        return Out()


@torch.no_grad()
def dit_golden():
    model = DiTTransformer2DModel(**TINY_DIT).eval()
    randomize(model, seed=20261123)
    out_dir = DATA_DIR / "tiny_dit"
    model.save_pretrained(out_dir / "transformer", safe_serialization=True)
    scheduler = DDIMScheduler(**DIT_SCHEDULER)
    scheduler.save_pretrained(out_dir / "scheduler")
    (out_dir / "model_index.json").write_text(json.dumps({
        "_class_name": "DiTPipeline",
        "scheduler": ["diffusers", "DDIMScheduler"],
        "transformer": ["diffusers", "DiTTransformer2DModel"],
    }, indent=2) + "\n")

    gen = torch.Generator().manual_seed(7)
    c, s = TINY_DIT["in_channels"], TINY_DIT["sample_size"]
    forward_cases = []
    for timesteps, labels in (([999, 0, 500, 17], [3, 1000, 999, 42]), ([261.5], [207])):
        latents = torch.randn((len(labels), c, s, s), generator=gen)
        out = model(latents, timestep=torch.tensor(timesteps, dtype=torch.float32),
                    class_labels=torch.tensor(labels)).sample
        forward_cases.append(dict(latents=flat(latents), timesteps=timesteps,
                                  class_labels=labels, output=flat(out),
                                  output_shape=list(out.shape)))

    labels, guidance, steps, seed = [1, 207], 4.0, 10, 0
    pipe = DiTPipeline(transformer=model, vae=LatentCapture(), scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    pipe(class_labels=labels, guidance_scale=guidance, num_inference_steps=steps,
         generator=torch.Generator().manual_seed(seed), output_type="pt")
    # DiTPipeline draws its initial noise as the first thing from the generator.
    noise = torch.randn((len(labels), c, s, s), generator=torch.Generator().manual_seed(seed))
    write_npy(DATA_DIR / "dit_init_noise.npy", noise.numpy())
    write_json(DATA_DIR / "dit_golden.json", dict(
        config=TINY_DIT, forward=forward_cases,
        pipeline=dict(class_labels=labels, guidance=guidance, steps=steps,
                      scheduler="ddim", init_noise="dit_init_noise.npy",
                      timesteps=[int(t) for t in scheduler.timesteps],
                      latents=flat(pipe.vae.latents),
                      latents_shape=list(pipe.vae.latents.shape))))


# Each case: (name, genrt --scheduler name, diffusers class, config, steps, step kwargs).
SCHEDULER_CASES = [
    ("ddim_linear_leading", "ddim", DDIMScheduler, dict(clip_sample=False), 10, {}),
    ("ddim_scaled_trailing_v_clip", "ddim", DDIMScheduler,
     dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
          timestep_spacing="trailing", prediction_type="v_prediction", clip_sample=True,
          set_alpha_to_one=False), 7, {}),
    ("ddim_cosine_linspace_eta", "ddim", DDIMScheduler,
     dict(beta_schedule="squaredcos_cap_v2", timestep_spacing="linspace", clip_sample=False),
     6, dict(eta=0.7)),
    ("ddpm_linear_leading_small", "ddpm", DDPMScheduler, dict(steps_offset=1), 8, {}),
    ("ddpm_cosine_trailing_large_sample", "ddpm", DDPMScheduler,
     dict(beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing",
          variance_type="fixed_large", prediction_type="sample", clip_sample=False), 5, {}),
    ("euler_scaled_linspace", "euler", EulerDiscreteScheduler,
     dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012), 9, {}),
    ("euler_leading_offset", "euler", EulerDiscreteScheduler,
     dict(timestep_spacing="leading", steps_offset=1), 6, {}),
    ("euler_karras_trailing_v", "euler", EulerDiscreteScheduler,
     dict(use_karras_sigmas=True, timestep_spacing="trailing",
          prediction_type="v_prediction"), 8, {}),
    ("dpmpp2m_linspace", "dpm++2m", DPMSolverMultistepScheduler, {}, 10, {}),
    ("dpmpp2m_karras_scaled", "dpm++2m-karras", DPMSolverMultistepScheduler,
     dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
          use_karras_sigmas=True), 12, {}),
    ("dpmpp2m_heun_leading_v", "dpm++2m", DPMSolverMultistepScheduler,
     dict(solver_type="heun", timestep_spacing="leading", prediction_type="v_prediction",
          steps_offset=1), 16, {}),
    ("flow_euler", "flow-euler", FlowMatchEulerDiscreteScheduler, {}, 8, {}),
    ("flow_euler_shift3", "flow-euler", FlowMatchEulerDiscreteScheduler, dict(shift=3.0),
     5, {}),
]


def scheduler_case(name, genrt_name, cls, config, steps, step_kwargs):
    scheduler = cls(**config)
    scheduler.set_timesteps(steps)
    gen = torch.Generator().manual_seed(11)
    shape = (1, 4, 4, 4)
    init_noise_sigma = float(getattr(scheduler, "init_noise_sigma", 1.0))  # flow: none
    sample = torch.randn(shape, generator=gen) * init_noise_sigma
    case = dict(name=name, scheduler=genrt_name, config=config, steps=steps,
                eta=step_kwargs.get("eta", 0.0), init_noise_sigma=init_noise_sigma,
                timesteps=[float(t) for t in scheduler.timesteps],
                initial=flat(sample), model_outputs=[], noises=[], input_scales=[], samples=[])
    if hasattr(scheduler, "sigmas"):
        case["sigmas"] = [float(v) for v in scheduler.sigmas]
    for t in scheduler.timesteps:
        scaled = scheduler.scale_model_input(sample, t) if hasattr(scheduler, "scale_model_input") else sample
        case["input_scales"].append(float((scaled.reshape(-1)[0] / sample.reshape(-1)[0]).item()))
        model_output = torch.randn(shape, generator=gen)
        # Steps that draw noise draw it from this generator first; the same seed redraws it.
        noise_seed = int(torch.randint(0, 2**31, (1,), generator=gen))
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(noise_seed))
        sample = scheduler.step(model_output, t, sample,
                                generator=torch.Generator().manual_seed(noise_seed),
                                **step_kwargs).prev_sample
        case["model_outputs"].append(flat(model_output))
        case["noises"].append(flat(noise))
        case["samples"].append(flat(sample))
    return case


if __name__ == "__main__":
    dit_golden()
    write_json(DATA_DIR / "scheduler_golden.json",
               dict(cases=[scheduler_case(*c) for c in SCHEDULER_CASES]))
