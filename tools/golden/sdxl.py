"""Golden data for genrt's Stable Diffusion XL pipeline (StableDiffusionXLPipeline and
StableDiffusionXLImg2ImgPipeline), from Hugging Face diffusers on the CPU; sd.py's helpers
and conventions.

Writes tests/data/tiny_sd/sdxl/, a pipeline folder in diffusers' SDXL layout
(model_index.json, text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/, unet/, vae/,
scheduler/) with seeded random weights stored in fp16, and beside it the .npy goldens
computed from the folder as reloaded in fp32:
  text_encoder/    a CLIPTextModel (width 16, quick-GELU); tokenizer/ is tiny_clip/sd1's
                   (pads with <|endoftext|>)
  text_encoder_2/  a CLIPTextModelWithProjection (width 32, GELU, projection to 16) whose
                   config says eos_token_id 2, as SDXL's does (transformers then pools at
                   the largest id); tokenizer_2/ is tiny_clip/sd2's (pads with "!")
  unet/            SDXL's shape in small: a DownBlock2D, then a CrossAttnDownBlock2D with
                   two transformer layers (the mid block takes the last count), linear
                   projections, head counts per block, cross-attention to 16 + 32 features,
                   the "text_time" added embedding (pooled text 16 + 6 time ids x 8)
  vae/             sd.py's tiny VAE with SDXL's scaling factor 0.13025 and force_upcast
  scheduler/       EulerDiscreteScheduler, as SDXL ships (leading spacing, steps offset 1)
  sdxl/unet_*.npy  the UNet's output for fixed latents, timesteps, text states, pooled
                   text embeds and time ids
  sdxl/prompt_embeds.npy, pooled_prompt_embeds.npy
                   encode_prompt's embeddings, the negative prompt's first
  sdxl/init_noise.npy, pipe_<scheduler>_latents.npy, pipe_<scheduler>_image.npy
                   the pipeline with guidance from that noise, for Euler and DDIM; and
                   pipe_zeros_euler_* without a negative prompt, where
                   force_zeros_for_empty_prompt makes the unconditional embeddings zeros
  sdxl/img2img_image.png, img2img_noise.npy, img2img_<scheduler>_latents.npy,
  img2img_<scheduler>_image.npy
                   StableDiffusionXLImg2ImgPipeline built from the same components, as for
                   the base model (requires_aesthetics_score False: the time ids are
                   original size, crop and target size, as in text to image), from that
                   8-bit image, 16 high and 24 wide, at strength 0.75 of 4 steps (the last
                   3) with guidance and a negative prompt, for Euler and DDIM; like sd.py's
                   img2img golden it takes the mean of the VAE encoder's distribution
                   (diffusers samples it by default) and the saved noise for add_noise
  sdxl_golden.json the file names and shapes, and the scalar inputs

and tests/data/tiny_sd/sdxl_refiner/, stabilityai/stable-diffusion-xl-refiner-1.0's layout in
small: a StableDiffusionXLImg2ImgPipeline folder with no text_encoder/ nor tokenizer/
(model_index.json says null for both), requires_aesthetics_score true and
force_zeros_for_empty_prompt false, the base's text_encoder_2/, tokenizer_2/, vae/ and
scheduler/, and a UNet of its own (seeded apart) whose cross-attention takes text_encoder_2's
32 features alone and whose added embedding takes the pooled text 16 + 5 time ids x 8:
  sdxl_refiner/image.png, noise.npy, <scheduler>_latents.npy, <scheduler>_image.npy
                   the refiner from that 8-bit image, 24 high and 16 wide, at strength 0.75 of
                   4 steps with guidance and a negative prompt, for Euler and DDIM; the time
                   ids are original size, crop and aesthetic score (6.0, and 2.5 for the
                   negative prompt's half); the encoder's mean and the saved noise as above
  sdxl_refiner_golden.json its file names and shapes, and the scalar inputs

and tests/data/tiny_sd/sdxl_latents_mean_std/, the goldens alone of the sdxl/ folder whose
vae/config.json also holds per-channel latents_mean and latents_std (LATENTS_MEAN,
LATENTS_STD), as playground-v2.5's VAE does: diffusers' SDXL pipelines then decode
latents * latents_std / scaling_factor + latents_mean and encode an init image to
(latents - latents_mean) * scaling_factor / latents_std. The test makes the folder the same
way, from a copy of sdxl/:
  sdxl_latents_mean_std/pipe_euler_latents.npy, pipe_euler_image.npy
                   text to image as sdxl/pipe_euler_* (the same saved noise, prompts, steps
                   and guidance): the same latents, decoded otherwise
  sdxl_latents_mean_std/img2img_euler_latents.npy, img2img_euler_image.npy
                   image to image as sdxl/img2img_euler_* (its PNG and saved noise)
  sdxl_latents_mean_std_golden.json the statistics, file names and shapes, scalar inputs

Usage: python tools/golden/sdxl.py   (needs torch, diffusers, transformers, safetensors, numpy;
run tools/golden/clip.py first: the tokenizers are tiny_clip's)
"""

import copy
import json
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import diffusers
import diffusers.pipelines.stable_diffusion_xl.pipeline_stable_diffusion_xl_img2img as img2img_module
import numpy as np
import torch
import transformers
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    EulerDiscreteScheduler,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from PIL import Image
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from common import DATA_DIR, write_json
from sd import OUT, TINY_VAE, Goldens, pipeline_ids, randomize

NAME = "sdxl"

# stabilityai/stable-diffusion-xl-base-1.0's scheduler settings.
SDXL_SCHEDULER = dict(
    beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, num_train_timesteps=1000,
    prediction_type="epsilon", steps_offset=1, timestep_spacing="leading", interpolation_type="linear",
    use_karras_sigmas=False,
)

# SDXL's UNet in small: 8x8 latents halved once.
TINY_SDXL_UNET = dict(
    sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16), layers_per_block=1,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), transformer_layers_per_block=(1, 2),
    attention_head_dim=(2, 4), cross_attention_dim=48, norm_num_groups=4, use_linear_projection=True,
    addition_embed_type="text_time", addition_time_embed_dim=8, projection_class_embeddings_input_dim=16 + 6 * 8,
)

TINY_SDXL_VAE = dict(TINY_VAE, block_out_channels=(8, 16), norm_num_groups=4, scaling_factor=0.13025,
                     force_upcast=True)


def text_encoder_config(tokenizer, width, layers, heads, act, eos_token_id, **extra):
    vocab = tokenizer.get_vocab()
    return CLIPTextConfig(vocab_size=len(vocab), hidden_size=width, intermediate_size=2 * width,
                          num_hidden_layers=layers, num_attention_heads=heads, max_position_embeddings=77,
                          hidden_act=act, layer_norm_eps=1e-5, bos_token_id=vocab["<|startoftext|>"],
                          eos_token_id=eos_token_id, pad_token_id=tokenizer.pad_token_id, **extra)


UNET_TIMESTEPS = [999, 251]
UNET_TIME_IDS = [[16, 16, 0, 0, 16, 16], [1024, 768, 32, 8, 1024, 1024]]
UNET_TEXT_TOKENS = 7
PIPELINE_ARGS = dict(prompt="a photo of a cat", negative_prompt="blurry", num_inference_steps=4,
                     guidance_scale=5.0, height=16, width=16)
PIPELINE_SCHEDULERS = [("euler", EulerDiscreteScheduler), ("ddim", DDIMScheduler)]
# Strength 0.75 of 4 steps runs the last 3 (get_timesteps: t_start 1). The init image is 16
# high and 24 wide, so the images and time ids take its size the right way round.
IMG2IMG_SIZE = (16, 24)
IMG2IMG_ARGS = dict(prompt="a photo of a cat", negative_prompt="blurry", num_inference_steps=4,
                    guidance_scale=5.0, strength=0.75)

REFINER_NAME = "sdxl_refiner"
# The refiner's UNet: cross-attention to text_encoder_2's 32 features alone, and 5 time ids
# (original size, crop, aesthetic score) beside the pooled text's 16.
TINY_REFINER_UNET = dict(TINY_SDXL_UNET, cross_attention_dim=32, projection_class_embeddings_input_dim=16 + 5 * 8)
# Portrait, where the base's img2img golden is landscape.
REFINER_SIZE = (24, 16)
# diffusers' default aesthetic scores, spelled out.
REFINER_ARGS = dict(IMG2IMG_ARGS, aesthetic_score=6.0, negative_aesthetic_score=2.5)


STATS_NAME = "sdxl_latents_mean_std"
# Per-channel latent statistics, as playground-v2.5's VAE config lists them (there with
# scaling_factor 0.5, means of -1.7 to 2.5 and deviations of 5 to 8.5), here of the tiny
# random VAE's scale so that the decoded images do not saturate; unequal per channel, so
# that a swapped or broadcast channel shows.
LATENTS_MEAN = [0.35, -0.6, 0.15, 0.8]
LATENTS_STD = [0.7, 1.3, 0.9, 1.6]


def write_pipeline(seed):
    root = OUT / NAME
    if root.exists():
        shutil.rmtree(root)
    clip = DATA_DIR / "tiny_clip"
    tokenizer = CLIPTokenizer.from_pretrained(clip / "sd1" / "tokenizer")
    tokenizer_2 = CLIPTokenizer.from_pretrained(clip / "sd2" / "tokenizer")
    text_encoder = CLIPTextModel(text_encoder_config(
        tokenizer, 16, 2, 2, "quick_gelu", tokenizer.eos_token_id)).eval()
    text_encoder_2 = CLIPTextModelWithProjection(text_encoder_config(
        tokenizer_2, 32, 3, 4, "gelu", 2, projection_dim=16)).eval()
    unet = UNet2DConditionModel(**TINY_SDXL_UNET)
    vae = AutoencoderKL(**TINY_SDXL_VAE)
    for i, model in enumerate((text_encoder, text_encoder_2, unet, vae)):
        randomize(model, seed + 100 * i)
    pipe = StableDiffusionXLPipeline(
        vae=vae.half(), text_encoder=text_encoder.half(), text_encoder_2=text_encoder_2.half(),
        tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet.half(),
        scheduler=EulerDiscreteScheduler(**SDXL_SCHEDULER), force_zeros_for_empty_prompt=True,
        add_watermarker=False)
    pipe.save_pretrained(root)
    for part, source in (("tokenizer", "sd1"), ("tokenizer_2", "sd2")):
        shutil.rmtree(root / part)
        shutil.copytree(clip / source / "tokenizer", root / part)
    pipe = StableDiffusionXLPipeline.from_pretrained(root, dtype=torch.float32, add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@torch.no_grad()
def unet_golden(pipe, out, gen):
    config = pipe.unet.config
    batch = len(UNET_TIMESTEPS)
    sample = torch.randn((batch, config.in_channels, config.sample_size, config.sample_size), generator=gen)
    text = torch.randn((batch, UNET_TEXT_TOKENS, config.cross_attention_dim), generator=gen)
    text_embeds = torch.randn((batch, pipe.text_encoder_2.config.projection_dim), generator=gen)
    time_ids = torch.tensor(UNET_TIME_IDS, dtype=torch.float32)
    output = pipe.unet(sample, torch.tensor(UNET_TIMESTEPS), encoder_hidden_states=text,
                       added_cond_kwargs=dict(text_embeds=text_embeds, time_ids=time_ids)).sample
    return dict(sample=out.save("unet_sample", sample), timesteps=UNET_TIMESTEPS,
                encoder_hidden_states=out.save("unet_text", text),
                text_embeds=out.save("unet_text_embeds", text_embeds),
                time_ids=UNET_TIME_IDS, output=out.save("unet_out", output))


@torch.no_grad()
def pipeline_golden(pipe, out, gen):
    args = PIPELINE_ARGS
    positive, negative, pooled, negative_pooled = pipe.encode_prompt(
        args["prompt"], device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=True,
        negative_prompt=args["negative_prompt"])
    noise = torch.randn((1, 4, 8, 8), generator=gen)
    result = dict(args, init_noise=out.save("init_noise", noise),
                  prompt_ids=pipeline_ids(pipe.tokenizer, args["prompt"]),
                  prompt_2_ids=pipeline_ids(pipe.tokenizer_2, args["prompt"]),
                  prompt_embeds=out.save("prompt_embeds", torch.cat([negative, positive])),
                  pooled_prompt_embeds=out.save("pooled_prompt_embeds", torch.cat([negative_pooled, pooled])),
                  prompt_embeds_order=["negative_prompt", "prompt"], schedulers={})
    config = pipe.scheduler.config
    runs = [(name, cls, args) for name, cls in PIPELINE_SCHEDULERS]
    # No negative prompt: force_zeros_for_empty_prompt zeroes the unconditional embeddings.
    runs.append(("zeros_euler", EulerDiscreteScheduler, {k: v for k, v in args.items() if k != "negative_prompt"}))
    for name, cls, run_args in runs:
        pipe.scheduler = cls.from_config(config)
        latents = pipe(**run_args, latents=noise, output_type="latent").images
        image = pipe(**run_args, latents=noise, output_type="np").images
        result["schedulers"][name] = dict(
            negative_prompt=run_args.get("negative_prompt"),
            timesteps=[float(t) for t in pipe.scheduler.timesteps],
            latents=out.save(f"pipe_{name}_latents", latents),
            image=out.save(f"pipe_{name}_image", torch.from_numpy(image)))
    return result


@torch.no_grad()
def img2img_run(pipe, out, gen, size, args, prefix):
    """An image-to-image golden of `pipe`: a random 8-bit PNG of `size` (height, width) and
    saved noise, run under each scheduler; its files are named with `prefix`."""
    height, width = size
    pixels = torch.randint(0, 256, (height, width, 3), generator=gen, dtype=torch.uint8).numpy()
    image_path = f"{out.name}/{prefix}image.png"
    Image.fromarray(pixels).save(OUT / image_path)
    out.files[image_path] = list(pixels.shape)
    f = pipe.vae_scale_factor
    noise = torch.randn((1, pipe.vae.config.latent_channels, height // f, width // f), generator=gen)
    result = dict(args, image=image_path, noise=out.save(f"{prefix}noise", noise), schedulers={})
    with img2img_inputs(noise):
        config = pipe.scheduler.config
        for name, cls in PIPELINE_SCHEDULERS:
            pipe.scheduler = cls.from_config(config)
            init = Image.open(OUT / image_path)
            latents = pipe(**args, image=init, output_type="latent").images
            decoded = pipe(**args, image=init, output_type="np").images
            result["schedulers"][name] = dict(
                timesteps=[float(t) for t in pipe.scheduler.timesteps],
                latents=out.save(f"{prefix}{name}_latents", latents),
                image=out.save(f"{prefix}{name}_image", torch.from_numpy(decoded)))
    return result


def img2img_golden(pipe, out, gen):
    # SDXL 1.0 base's img2img: no aesthetic score in the time ids.
    img2img = StableDiffusionXLImg2ImgPipeline(**pipe.components, requires_aesthetics_score=False,
                                               force_zeros_for_empty_prompt=True, add_watermarker=False)
    img2img.set_progress_bar_config(disable=True)
    return img2img_run(img2img, out, gen, IMG2IMG_SIZE, IMG2IMG_ARGS, "img2img_")


@contextmanager
def img2img_inputs(noise):
    """StableDiffusionXLImg2ImgPipeline taking the encoder's mean, not a sample of its
    distribution, and the saved noise for add_noise."""
    sample_latents, draw_noise = img2img_module.retrieve_latents, img2img_module.randn_tensor
    img2img_module.retrieve_latents = lambda output, generator=None, sample_mode="sample": sample_latents(
        output, generator, "argmax")
    img2img_module.randn_tensor = lambda shape, **kwargs: noise.clone()
    try:
        yield
    finally:
        img2img_module.retrieve_latents, img2img_module.randn_tensor = sample_latents, draw_noise


def write_refiner(base, seed):
    """The refiner folder from the base pipeline's text_encoder_2, tokenizer_2, VAE and
    scheduler and a UNet of its own, in fp16; reloaded in fp32."""
    root = OUT / REFINER_NAME
    if root.exists():
        shutil.rmtree(root)
    unet = UNet2DConditionModel(**TINY_REFINER_UNET)
    randomize(unet, seed + 400)
    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=copy.deepcopy(base.vae).half(), text_encoder=None, text_encoder_2=copy.deepcopy(base.text_encoder_2).half(),
        tokenizer=None, tokenizer_2=base.tokenizer_2, unet=unet.half(), scheduler=EulerDiscreteScheduler(**SDXL_SCHEDULER),
        requires_aesthetics_score=True, force_zeros_for_empty_prompt=False, add_watermarker=False)
    pipe.save_pretrained(root)
    shutil.rmtree(root / "tokenizer_2")
    shutil.copytree(DATA_DIR / "tiny_clip" / "sd2" / "tokenizer", root / "tokenizer_2")
    pipe = StableDiffusionXLImg2ImgPipeline.from_pretrained(root, dtype=torch.float32, add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def refiner_golden(pipe, out, gen):
    assert pipe.text_encoder is None and pipe.config.requires_aesthetics_score
    return img2img_run(pipe, out, gen, REFINER_SIZE, REFINER_ARGS, "")


def with_latent_statistics(folder):
    """The pipeline folder whose vae/config.json gains LATENTS_MEAN and LATENTS_STD, as the
    test makes it: a copy in `folder`."""
    shutil.copytree(OUT / NAME, folder)
    path = folder / "vae" / "config.json"
    config = json.loads(path.read_text())
    config.update(latents_mean=LATENTS_MEAN, latents_std=LATENTS_STD)
    path.write_text(json.dumps(config, indent=2))
    return folder


@torch.no_grad()
def stats_golden(out, base):
    """sdxl.py's Euler text-to-image and image-to-image runs again (their inputs from
    `base`, sdxl_golden.json's), from the folder with latent statistics."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = with_latent_statistics(Path(tmp) / NAME)
        pipe = StableDiffusionXLPipeline.from_pretrained(folder, dtype=torch.float32, add_watermarker=False)
        pipe.set_progress_bar_config(disable=True)
    assert pipe.vae.config.latents_mean == LATENTS_MEAN and pipe.vae.config.latents_std == LATENTS_STD
    assert isinstance(pipe.scheduler, EulerDiscreteScheduler)
    text, image = base["pipeline"], base["img2img"]
    args = PIPELINE_ARGS
    noise = torch.from_numpy(np.load(OUT / text["init_noise"]))
    latents = pipe(**args, latents=noise, output_type="latent").images
    decoded = pipe(**args, latents=noise, output_type="np").images
    print(f"text to image: {np.mean((decoded <= 0) | (decoded >= 1)):.3f} of the pixels clamped")
    pipeline = dict(args, init_noise=text["init_noise"], schedulers=dict(euler=dict(
        timesteps=[float(t) for t in pipe.scheduler.timesteps],
        latents=out.save("pipe_euler_latents", latents), image=out.save("pipe_euler_image", torch.from_numpy(decoded)))))

    img2img = StableDiffusionXLImg2ImgPipeline(**pipe.components, requires_aesthetics_score=False,
                                               force_zeros_for_empty_prompt=True, add_watermarker=False)
    img2img.set_progress_bar_config(disable=True)
    noise = torch.from_numpy(np.load(OUT / image["noise"]))
    with img2img_inputs(noise):
        init = Image.open(OUT / image["image"])
        latents = img2img(**IMG2IMG_ARGS, image=init, output_type="latent").images
        decoded = img2img(**IMG2IMG_ARGS, image=init, output_type="np").images
    print(f"image to image: {np.mean((decoded <= 0) | (decoded >= 1)):.3f} of the pixels clamped")
    img2img_golden = dict(IMG2IMG_ARGS, image=image["image"], noise=image["noise"], schedulers=dict(euler=dict(
        timesteps=[float(t) for t in img2img.scheduler.timesteps],
        latents=out.save("img2img_euler_latents", latents),
        image=out.save("img2img_euler_image", torch.from_numpy(decoded)))))
    return dict(folder=NAME, latents_mean=LATENTS_MEAN, latents_std=LATENTS_STD, pipeline=pipeline,
                img2img=img2img_golden)


def main():
    seed = 23
    files = {}
    pipe = write_pipeline(seed)
    out = Goldens(NAME, files)
    gen = torch.Generator().manual_seed(seed)
    golden = {
        "source": "tools/golden/sdxl.py", "diffusers_version": diffusers.__version__,
        "transformers_version": transformers.__version__, "torch_version": torch.__version__,
        "unet": unet_golden(pipe, out, gen), "pipeline": pipeline_golden(pipe, out, gen),
        # After the other goldens, so that their draws from `gen` stay as they were.
        "img2img": img2img_golden(pipe, out, gen), "files": files,
    }
    write_json(OUT / "sdxl_golden.json", golden)

    refiner_files = {}
    refiner = write_refiner(pipe, seed)
    write_json(OUT / "sdxl_refiner_golden.json", {
        "source": "tools/golden/sdxl.py", "diffusers_version": diffusers.__version__,
        "transformers_version": transformers.__version__, "torch_version": torch.__version__,
        "refiner": refiner_golden(refiner, Goldens(REFINER_NAME, refiner_files),
                                  torch.Generator().manual_seed(seed + 1)),
        "files": refiner_files,
    })

    stats_root = OUT / STATS_NAME
    if stats_root.exists():
        shutil.rmtree(stats_root)
    stats_root.mkdir()
    stats_files = {}
    write_json(OUT / f"{STATS_NAME}_golden.json", {
        "source": "tools/golden/sdxl.py", "diffusers_version": diffusers.__version__,
        "transformers_version": transformers.__version__, "torch_version": torch.__version__,
        **stats_golden(Goldens(STATS_NAME, stats_files), golden), "files": stats_files,
    })


if __name__ == "__main__":
    main()
