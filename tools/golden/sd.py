"""Golden data for genrt's Stable Diffusion pipeline (UNet, VAE, the text-to-image loop),
from Hugging Face diffusers on the CPU.

Writes into tests/data/tiny_sd/ two pipeline folders in diffusers' layout (model_index.json,
text_encoder/, tokenizer/, unet/, vae/, scheduler/; no safety checker), each with seeded
random weights and beside them the .npy goldens computed from the folder as reloaded:
  sd1/     as Stable Diffusion 1.x ships: the text encoder and tokenizer of tiny_clip/sd1,
           a UNet with one attention head count for all blocks, conv projections and fp16
           weights, a DDIMScheduler predicting epsilon
  sd2/     as 2.x does: tiny_clip/sd2's text encoder and tokenizer, a UNet with a head
           count per block, linear projections and fp32 weights, a DDIMScheduler predicting
           v (v_prediction)
  <variant>/unet_sample.npy, unet_text.npy, unet_out.npy
           the UNet's output for fixed latents, per-sample timesteps and text states
  <variant>/vae_latents.npy, vae_decoded.npy
           the VAE decoder's raw output for fixed latents (no scaling, no postprocessing)
  <variant>/vae_image.npy, vae_encoded_mean.npy, vae_encoded_logvar.npy
           the VAE encoder's latent distribution for a fixed image in [-1, 1]
  <variant>/prompt_embeds.npy
           the pipeline's text embeddings, the negative prompt's first
  <variant>/init_noise.npy, pipe_<scheduler>_latents.npy, pipe_<scheduler>_image.npy
           diffusers' own StableDiffusionPipeline with classifier-free guidance from that
           initial noise, for the DDIM, Euler and DPM++ 2M schedulers: the final latents and
           the decoded image (NHWC in [0, 1], as output_type="np" gives it)
  <variant>/img2img_image.png, img2img_noise.npy, img2img_<scheduler>_latents.npy,
  img2img_<scheduler>_image.npy
           diffusers' StableDiffusionImg2ImgPipeline from that 8-bit image at strength 0.75,
           taking the mean of the VAE encoder's distribution (sample_mode "argmax", where
           diffusers samples it by default) and the saved noise for add_noise
  <variant>/vae_tiled_latents.npy, vae_tiled_decoded.npy
           the VAE decoder with tiling enabled (tiles of sample_size 16 pixels, 8 latents,
           a quarter overlapping) over 14x20 latents: 3x4 tiles, edge tiles smaller
  golden.json
           the file names and shapes, the inputs that are scalars or token ids, and an
           Euler ancestral scheduler case in scheduler_golden.json's format (sd1's config)

Usage: python tools/golden/sd.py   (needs torch, diffusers, transformers, safetensors, numpy)
"""

import shutil

import diffusers
import diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img as img2img_module
import numpy as np
import torch
import transformers
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from PIL import Image
from transformers import CLIPTextModel, CLIPTokenizer

from common import DATA_DIR, write_json

OUT = DATA_DIR / "tiny_sd"

# runwayml/stable-diffusion-v1-5's scheduler settings, as a DDIMScheduler.
SD_SCHEDULER = dict(
    beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, num_train_timesteps=1000,
    prediction_type="epsilon", steps_offset=1, set_alpha_to_one=False, clip_sample=False,
)

# 8x8 latents; the VAE's two blocks downsample once, so images are 16x16.
TINY_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32),
    layers_per_block=1, down_block_types=("DownEncoderBlock2D",) * 2,
    up_block_types=("UpDecoderBlock2D",) * 2, norm_num_groups=8, sample_size=16,
    scaling_factor=0.18215,
)

VARIANTS = {
    "sd1": dict(
        unet=dict(
            sample_size=8, in_channels=4, out_channels=4, block_out_channels=(32, 64),
            layers_per_block=2, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
            attention_head_dim=8, norm_num_groups=32, use_linear_projection=False,
        ),
        unet_dtype=torch.float16, scheduler=SD_SCHEDULER, seed=21,
    ),
    "sd2": dict(
        unet=dict(
            sample_size=8, in_channels=4, out_channels=4, block_out_channels=(16, 32),
            layers_per_block=1, down_block_types=("CrossAttnDownBlock2D",) * 2,
            up_block_types=("CrossAttnUpBlock2D",) * 2, cross_attention_dim=32,
            attention_head_dim=[2, 4], norm_num_groups=8, use_linear_projection=True,
        ),
        unet_dtype=torch.float32, scheduler=dict(SD_SCHEDULER, prediction_type="v_prediction"),
        seed=22,
    ),
}

PIPELINE_SCHEDULERS = [
    ("ddim", DDIMScheduler), ("euler", EulerDiscreteScheduler),
    ("dpmpp2m", DPMSolverMultistepScheduler),
]
UNET_TIMESTEPS = [999, 251]
PIPELINE_ARGS = dict(prompt="a photo of a cat", negative_prompt="blurry", num_inference_steps=4,
                     guidance_scale=7.5, height=16, width=16)
# Strength 0.75 of 4 steps runs the last 3 (diffusers' get_timesteps: t_start 1).
IMG2IMG_ARGS = dict(prompt="a photo of a cat", negative_prompt="blurry", num_inference_steps=4,
                    guidance_scale=7.5, strength=0.75)


def flat(t):
    return [float(f"{v:.7g}") for v in t.detach().float().reshape(-1).tolist()]


def randomize(model, seed):
    """Every weight random, scaled by its fan-in so that activations stay O(1) through the
    residual stacks; norm scales near one and biases small but nonzero (diffusers' default
    init zeroes the norm biases)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if p.dim() > 1:
                p.copy_(noise / p[0].numel() ** 0.5)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            else:
                p.copy_(0.1 * noise)


def write_pipeline(name, unet, unet_dtype, scheduler, seed):
    """The pipeline folder: diffusers saves it, then the text encoder and tokenizer are
    replaced by tiny_clip's files as they are."""
    root = OUT / name
    if root.exists():
        shutil.rmtree(root)
    clip = DATA_DIR / "tiny_clip" / name
    unet = UNet2DConditionModel(**unet)
    vae = AutoencoderKL(**TINY_VAE)
    randomize(unet, seed)
    randomize(vae, seed + 100)
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=CLIPTextModel.from_pretrained(clip / "text_encoder"),
        tokenizer=CLIPTokenizer.from_pretrained(clip / "tokenizer"), unet=unet.to(unet_dtype),
        scheduler=DDIMScheduler(**scheduler), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    pipe.save_pretrained(root)
    for part in ("text_encoder", "tokenizer"):
        shutil.rmtree(root / part)
        shutil.copytree(clip / part, root / part)
    pipe = StableDiffusionPipeline.from_pretrained(
        root, dtype=torch.float32, safety_checker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


class Goldens:
    """Writes one variant's .npy files and keeps their names and shapes for the manifest."""

    def __init__(self, name, files):
        self.name, self.files = name, files

    def save(self, stem, tensor):
        array = np.ascontiguousarray(tensor.detach().float().numpy(), dtype=np.float32)
        path = f"{self.name}/{stem}.npy"
        np.save(OUT / path, array)
        self.files[path] = list(array.shape)
        print(f"wrote {path} {list(array.shape)} std {array.std():.4f}")
        return path


@torch.no_grad()
def unet_golden(pipe, out, gen):
    c, s = pipe.unet.config.in_channels, pipe.unet.config.sample_size
    sample = torch.randn((len(UNET_TIMESTEPS), c, s, s), generator=gen)
    text = torch.randn((len(UNET_TIMESTEPS), 77, pipe.unet.config.cross_attention_dim), generator=gen)
    output = pipe.unet(sample, torch.tensor(UNET_TIMESTEPS), encoder_hidden_states=text).sample
    return dict(sample=out.save("unet_sample", sample), timesteps=UNET_TIMESTEPS,
                encoder_hidden_states=out.save("unet_text", text), output=out.save("unet_out", output))


@torch.no_grad()
def vae_golden(pipe, out, gen):
    latents = torch.randn((1, 4, 8, 8), generator=gen)
    image = torch.rand((1, 3, 16, 16), generator=gen) * 2 - 1
    dist = pipe.vae.encode(image).latent_dist
    return dict(latents=out.save("vae_latents", latents),
                decoded=out.save("vae_decoded", pipe.vae.decode(latents).sample),
                image=out.save("vae_image", image), mean=out.save("vae_encoded_mean", dist.mean),
                logvar=out.save("vae_encoded_logvar", dist.logvar))


def pipeline_ids(tokenizer, text):
    """As diffusers' StableDiffusionPipeline.encode_prompt tokenizes a prompt."""
    return tokenizer(text, padding="max_length", max_length=tokenizer.model_max_length, truncation=True).input_ids


@torch.no_grad()
def pipeline_golden(pipe, out, gen):
    positive, negative = pipe.encode_prompt(PIPELINE_ARGS["prompt"], "cpu", 1, True,
                                            PIPELINE_ARGS["negative_prompt"])
    noise = torch.randn((1, 4, 8, 8), generator=gen)
    result = dict(PIPELINE_ARGS, init_noise=out.save("init_noise", noise),
                  prompt_ids=pipeline_ids(pipe.tokenizer, PIPELINE_ARGS["prompt"]),
                  negative_prompt_ids=pipeline_ids(pipe.tokenizer, PIPELINE_ARGS["negative_prompt"]),
                  prompt_embeds=out.save("prompt_embeds", torch.cat([negative, positive])),
                  prompt_embeds_order=["negative_prompt", "prompt"], schedulers={})
    config = pipe.scheduler.config
    for name, cls in PIPELINE_SCHEDULERS:
        pipe.scheduler = cls.from_config(config)
        latents = pipe(**PIPELINE_ARGS, latents=noise, output_type="latent").images
        image = pipe(**PIPELINE_ARGS, latents=noise, output_type="np").images
        result["schedulers"][name] = dict(
            timesteps=[float(t) for t in pipe.scheduler.timesteps],
            init_noise_sigma=float(pipe.scheduler.init_noise_sigma),
            latents=out.save(f"pipe_{name}_latents", latents),
            image=out.save(f"pipe_{name}_image", torch.from_numpy(image)))
    return result


@torch.no_grad()
def img2img_golden(pipe, out, gen):
    pixels = torch.randint(0, 256, (16, 16, 3), generator=gen, dtype=torch.uint8).numpy()
    image_path = f"{out.name}/img2img_image.png"
    Image.fromarray(pixels).save(OUT / image_path)
    out.files[image_path] = list(pixels.shape)
    noise = torch.randn((1, 4, 8, 8), generator=gen)
    result = dict(IMG2IMG_ARGS, image=image_path, noise=out.save("img2img_noise", noise), schedulers={})
    # The encoder's mean, not a sample of its distribution; the saved noise for add_noise.
    sample_latents = img2img_module.retrieve_latents
    img2img_module.retrieve_latents = lambda output, generator=None, sample_mode="sample": sample_latents(
        output, generator, "argmax")
    img2img_module.randn_tensor = lambda shape, **kwargs: noise.clone()
    img2img = StableDiffusionImg2ImgPipeline(**pipe.components)
    img2img.set_progress_bar_config(disable=True)
    config = pipe.scheduler.config
    for name, cls in PIPELINE_SCHEDULERS:
        img2img.scheduler = cls.from_config(config)
        init = Image.open(OUT / image_path)
        latents = img2img(**IMG2IMG_ARGS, image=init, output_type="latent").images
        decoded = img2img(**IMG2IMG_ARGS, image=init, output_type="np").images
        result["schedulers"][name] = dict(
            latents=out.save(f"img2img_{name}_latents", latents),
            image=out.save(f"img2img_{name}_image", torch.from_numpy(decoded)))
    img2img_module.retrieve_latents = sample_latents
    return result


@torch.no_grad()
def vae_tiling_golden(pipe, out, gen):
    latents = torch.randn((1, 4, 14, 20), generator=gen)
    pipe.vae.enable_tiling()
    decoded = pipe.vae.decode(latents).sample
    pipe.vae.disable_tiling()
    return dict(latents=out.save("vae_tiled_latents", latents), decoded=out.save("vae_tiled_decoded", decoded),
                tile_sample_min_size=pipe.vae.tile_sample_min_size,
                tile_latent_min_size=pipe.vae.tile_latent_min_size,
                tile_overlap_factor=pipe.vae.tile_overlap_factor)


def variant(name, files, unet, unet_dtype, scheduler, seed):
    pipe = write_pipeline(name, unet, unet_dtype, scheduler, seed)
    out = Goldens(name, files)
    gen = torch.Generator().manual_seed(seed)
    return dict(unet_dtype=str(unet_dtype).removeprefix("torch."), unet=unet_golden(pipe, out, gen),
                vae=vae_golden(pipe, out, gen), pipeline=pipeline_golden(pipe, out, gen),
                img2img=img2img_golden(pipe, out, gen), vae_tiling=vae_tiling_golden(pipe, out, gen))


def euler_ancestral_case(scheduler_config, steps=4):
    """scheduler_golden.json's case format for EulerAncestralDiscreteScheduler, whose every
    step draws noise: the noise it draws is redrawn from the seed of the step's generator."""
    config = {k: v for k, v in scheduler_config.items() if not k.startswith("_")}
    scheduler = EulerAncestralDiscreteScheduler.from_config(config)
    scheduler.set_timesteps(steps)
    gen = torch.Generator().manual_seed(31)
    shape = (1, 4, 8, 8)
    sample = torch.randn(shape, generator=gen) * scheduler.init_noise_sigma
    case = dict(name="euler_ancestral_sd1", scheduler="euler-a", config=config, steps=steps, eta=0.0,
                shape=list(shape), init_noise_sigma=float(scheduler.init_noise_sigma),
                timesteps=[float(t) for t in scheduler.timesteps],
                sigmas=[float(v) for v in scheduler.sigmas], initial=flat(sample),
                model_outputs=[], noises=[], input_scales=[], samples=[])
    for t in scheduler.timesteps:
        scaled = scheduler.scale_model_input(sample, t)
        case["input_scales"].append(float((scaled.reshape(-1)[0] / sample.reshape(-1)[0]).item()))
        model_output = torch.randn(shape, generator=gen)
        noise_seed = int(torch.randint(0, 2**31, (1,), generator=gen))
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(noise_seed))
        sample = scheduler.step(model_output, t, sample,
                                generator=torch.Generator().manual_seed(noise_seed)).prev_sample
        case["model_outputs"].append(flat(model_output))
        case["noises"].append(flat(noise))
        case["samples"].append(flat(sample))
    return case


def main():
    files = {}
    golden = {
        "source": "tools/golden/sd.py", "diffusers_version": diffusers.__version__,
        "transformers_version": transformers.__version__, "torch_version": torch.__version__,
        **{name: variant(name, files, **v) for name, v in VARIANTS.items()},
    }
    sd1_scheduler = DDIMScheduler.from_pretrained(OUT / "sd1", subfolder="scheduler")
    golden["euler_ancestral"] = euler_ancestral_case(sd1_scheduler.config)
    golden["files"] = files
    write_json(OUT / "golden.json", golden)


if __name__ == "__main__":
    main()
