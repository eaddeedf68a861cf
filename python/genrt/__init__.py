"""Python binding for genrt over its C API (ctypes; no compiled extension).

    import genrt
    model = genrt.Model("path/to/model")
    result = model.generate("Once upon a time", max_tokens=32, temperature=0,
                            on_token=lambda token, text: print(text, end="", flush=True))

    dit = genrt.DiffusionModel("path/to/DiT-XL-2-256")
    out = dit.diffuse([207, 360], steps=50, guidance=4.0, scheduler="ddim", seed=0,
                      on_step=lambda step, steps, t, seconds: print(step, steps))
    out.latents  # flat float list, out.shape = [images, channels, height, width]

The shared library is found through $GENRT_LIBRARY, else as libgenrt.so on the loader's
search path (LD_LIBRARY_PATH, or an installed prefix).
"""

import ctypes
import json
import os
from dataclasses import dataclass

__all__ = ["Model", "DiffusionModel", "GenrtError", "GenerationResult", "DiffusionResult", "version"]


def _load_library():
    return ctypes.CDLL(os.environ.get("GENRT_LIBRARY", "libgenrt.so"))


_lib = _load_library()
_c_int32_p = ctypes.POINTER(ctypes.c_int32)


class _LoadOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("device", ctypes.c_int32), ("dtype", ctypes.c_int32),
                ("gpu_memory_fraction", ctypes.c_float), ("tokenizer", ctypes.c_char_p)]


class _Sampling(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("max_tokens", ctypes.c_int64), ("temperature", ctypes.c_float),
                ("top_k", ctypes.c_int64), ("top_p", ctypes.c_float), ("min_p", ctypes.c_float),
                ("repetition_penalty", ctypes.c_float), ("seed", ctypes.c_uint64), ("ignore_eos", ctypes.c_int),
                ("grammar", ctypes.c_char_p), ("json_schema", ctypes.c_char_p)]


class _Result(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("prompt_tokens", ctypes.c_int64),
                ("generated_tokens", ctypes.c_int64), ("finish_reason", ctypes.c_int32), ("ttft_ms", ctypes.c_double),
                ("tokens_per_s", ctypes.c_double)]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t)

_lib.genrt_version.restype = ctypes.c_char_p
_lib.genrt_last_error.restype = ctypes.c_char_p
_lib.genrt_load_options_init.argtypes = [ctypes.POINTER(_LoadOptions)]
_lib.genrt_sampling_init.argtypes = [ctypes.POINTER(_Sampling)]
_lib.genrt_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(_LoadOptions), ctypes.POINTER(ctypes.c_void_p)]
_lib.genrt_model_free.argtypes = [ctypes.c_void_p]
_lib.genrt_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, _c_int32_p,
                                ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
_lib.genrt_detokenize.argtypes = [ctypes.c_void_p, _c_int32_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                                  ctypes.POINTER(ctypes.c_size_t)]
_lib.genrt_generate_ids.argtypes = [ctypes.c_void_p, _c_int32_p, ctypes.c_size_t, ctypes.POINTER(_Sampling), _Callback,
                                    ctypes.c_void_p, ctypes.POINTER(_Result)]


class _DiffusionOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("class_labels", _c_int32_p), ("n_images", ctypes.c_size_t),
                ("guidance", ctypes.c_float), ("steps", ctypes.c_int64), ("seed", ctypes.c_uint64),
                ("scheduler", ctypes.c_char_p), ("init_noise", ctypes.POINTER(ctypes.c_float))]


class _DiffusionResult(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("shape", ctypes.c_int64 * 4), ("steps_done", ctypes.c_int64),
                ("cancelled", ctypes.c_int32), ("seconds", ctypes.c_double)]


_StepCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_double,
                                 ctypes.c_double)
_lib.genrt_diffusion_options_init.argtypes = [ctypes.POINTER(_DiffusionOptions)]
_lib.genrt_diffusion_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(_LoadOptions), ctypes.POINTER(ctypes.c_void_p)]
_lib.genrt_diffusion_model_free.argtypes = [ctypes.c_void_p]
_lib.genrt_diffusion_latent_count.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
_lib.genrt_diffuse.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DiffusionOptions), _StepCallback, ctypes.c_void_p,
                               ctypes.POINTER(ctypes.c_float), ctypes.c_size_t, ctypes.POINTER(_DiffusionResult)]



class _Txt2ImgOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("prompt", ctypes.c_char_p), ("negative_prompt", ctypes.c_char_p),
                ("steps", ctypes.c_int64), ("guidance", ctypes.c_float), ("seed", ctypes.c_uint64),
                ("width", ctypes.c_int64), ("height", ctypes.c_int64), ("n_images", ctypes.c_size_t),
                ("clip_skip", ctypes.c_int64), ("scheduler", ctypes.c_char_p),
                ("init_noise", ctypes.POINTER(ctypes.c_float)), ("init_noise_count", ctypes.c_size_t),
                ("init_image", ctypes.POINTER(ctypes.c_uint8)), ("init_image_width", ctypes.c_int64),
                ("init_image_height", ctypes.c_int64), ("strength", ctypes.c_float)]


class _ImageResult(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("n_images", ctypes.c_int64), ("width", ctypes.c_int64),
                ("height", ctypes.c_int64), ("steps_done", ctypes.c_int64), ("cancelled", ctypes.c_int32),
                ("seconds", ctypes.c_double)]


_lib.genrt_txt2img_options_init.argtypes = [ctypes.POINTER(_Txt2ImgOptions)]
_lib.genrt_txt2img_image_bytes.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Txt2ImgOptions),
                                           ctypes.POINTER(ctypes.c_size_t)]
_lib.genrt_txt2img.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Txt2ImgOptions), _StepCallback, ctypes.c_void_p,
                               ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t, ctypes.POINTER(_ImageResult)]

_OK, _BUFFER_TOO_SMALL = 0, 5
_FINISH = {0: "stop", 1: "length", 2: "cancelled"}


class GenrtError(RuntimeError):
    """A failed genrt call: `status` is the genrt_status code."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _check(status, allowed=(_OK,)):
    if status not in allowed:
        raise GenrtError(status, _lib.genrt_last_error().decode())
    return status


def version():
    return _lib.genrt_version().decode()


@dataclass
class GenerationResult:
    tokens: list
    text: str
    finish_reason: str
    prompt_tokens: int
    ttft_ms: float
    tokens_per_s: float


class Model:
    def __init__(self, path, tokenizer=None):
        options = _LoadOptions()
        _lib.genrt_load_options_init(ctypes.byref(options))
        if tokenizer is not None:
            options.tokenizer = os.fsencode(tokenizer)
        handle = ctypes.c_void_p()
        _check(_lib.genrt_model_load(os.fsencode(path), ctypes.byref(options), ctypes.byref(handle)))
        self._handle = handle

    def close(self):
        if self._handle:
            _check(_lib.genrt_model_free(self._handle))
            self._handle = None

    def __del__(self):
        if getattr(self, "_handle", None):
            _lib.genrt_model_free(self._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def tokenize(self, text, add_special=True):
        data = text.encode()
        count = ctypes.c_size_t()
        _check(_lib.genrt_tokenize(self._handle, data, len(data), int(add_special), None, 0, ctypes.byref(count)),
               (_OK, _BUFFER_TOO_SMALL))
        ids = (ctypes.c_int32 * count.value)()
        _check(_lib.genrt_tokenize(self._handle, data, len(data), int(add_special), ids, count.value, ctypes.byref(count)))
        return list(ids)

    def detokenize(self, ids):
        array = (ctypes.c_int32 * len(ids))(*ids)
        length = ctypes.c_size_t()
        _check(_lib.genrt_detokenize(self._handle, array, len(ids), None, 0, ctypes.byref(length)), (_OK, _BUFFER_TOO_SMALL))
        buffer = ctypes.create_string_buffer(length.value + 1)
        _check(_lib.genrt_detokenize(self._handle, array, len(ids), buffer, len(buffer), ctypes.byref(length)))
        return buffer.raw[:length.value].decode()

    def generate(self, prompt, max_tokens=256, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0,
                 repetition_penalty=1.0, seed=0, ignore_eos=False, on_token=None, grammar=None, json_schema=None):
        """`prompt` is text or a list of token ids. `on_token(token, text)` may return True to stop.
        Structured output: `grammar` (GBNF text) or `json_schema` (a dict or JSON text) shapes the output."""
        ids = self.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
        sampling = _Sampling()
        _lib.genrt_sampling_init(ctypes.byref(sampling))
        sampling.max_tokens, sampling.temperature, sampling.top_k = max_tokens, temperature, top_k
        sampling.top_p, sampling.min_p, sampling.repetition_penalty = top_p, min_p, repetition_penalty
        sampling.seed, sampling.ignore_eos = seed, int(ignore_eos)
        if grammar is not None:
            sampling.grammar = grammar.encode()
        if json_schema is not None:
            sampling.json_schema = (json_schema if isinstance(json_schema, str) else json.dumps(json_schema)).encode()
        tokens, pieces = [], []

        def callback(_user, token, text, length):
            piece = ctypes.string_at(text, length).decode() if length else ""
            tokens.append(token)
            pieces.append(piece)
            return 1 if on_token is not None and on_token(token, piece) else 0

        c_callback = _Callback(callback)  # kept alive for the call
        result = _Result(struct_size=ctypes.sizeof(_Result))
        array = (ctypes.c_int32 * len(ids))(*ids)
        _check(_lib.genrt_generate_ids(self._handle, array, len(ids), ctypes.byref(sampling), c_callback, None,
                                       ctypes.byref(result)))
        return GenerationResult(tokens, "".join(pieces), _FINISH.get(result.finish_reason, "?"), result.prompt_tokens,
                                result.ttft_ms, result.tokens_per_s)


@dataclass
class DiffusionResult:
    latents: list  # flat, row-major over `shape`
    shape: list    # [images, channels, height, width]
    steps_done: int
    cancelled: bool
    seconds: float


@dataclass
class ImageResult:
    images: list   # one bytes object per image: height * width * 3 RGB bytes, row-major
    width: int
    height: int
    steps_done: int
    cancelled: bool  # then `images` is empty
    seconds: float


def _step_callback(on_step):
    """A C step callback calling on_step(step, steps, timestep, seconds), which stops the run
    by returning True."""
    return _StepCallback(lambda _user, step, total, timestep, seconds:
                         1 if on_step is not None and on_step(step, total, timestep, seconds) else 0)


class DiffusionModel:
    """A diffusers pipeline folder: a class-conditional DiT (diffuse) or Stable Diffusion
    (txt2img)."""

    def __init__(self, path):
        handle = ctypes.c_void_p()
        _check(_lib.genrt_diffusion_model_load(os.fsencode(path), None, ctypes.byref(handle)))
        self._handle = handle

    def close(self):
        if self._handle:
            _check(_lib.genrt_diffusion_model_free(self._handle))
            self._handle = None

    def __del__(self):
        if getattr(self, "_handle", None):
            _lib.genrt_diffusion_model_free(self._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def diffuse(self, class_labels, steps=50, guidance=4.0, scheduler=None, seed=0, init_noise=None, on_step=None):
        """One image per class label. `on_step(step, steps, timestep, seconds)` may return True to stop.
        `init_noise`: a flat list of images * channels * height * width standard normal values."""
        labels = (ctypes.c_int32 * len(class_labels))(*class_labels)
        count = ctypes.c_size_t()
        _check(_lib.genrt_diffusion_latent_count(self._handle, len(class_labels), ctypes.byref(count)))
        options = _DiffusionOptions()
        _lib.genrt_diffusion_options_init(ctypes.byref(options))
        options.class_labels, options.n_images = labels, len(class_labels)
        options.guidance, options.steps, options.seed = guidance, steps, seed
        if scheduler is not None:
            options.scheduler = scheduler.encode()
        if init_noise is not None:
            if len(init_noise) != count.value:
                raise ValueError(f"init_noise has {len(init_noise)} values, {count.value} needed")
            noise = (ctypes.c_float * count.value)(*init_noise)
            options.init_noise = noise
        c_callback = _step_callback(on_step)  # kept alive for the call
        latents = (ctypes.c_float * count.value)()
        result = _DiffusionResult(struct_size=ctypes.sizeof(_DiffusionResult))
        _check(_lib.genrt_diffuse(self._handle, ctypes.byref(options), c_callback, None, latents, count.value,
                                  ctypes.byref(result)))
        return DiffusionResult(list(latents), list(result.shape), result.steps_done, bool(result.cancelled),
                               result.seconds)

    def txt2img(self, prompt, negative_prompt="", steps=30, guidance=7.5, scheduler=None, seed=0, width=0, height=0,
                n_images=1, clip_skip=0, init_noise=None, on_step=None, init_image=None, strength=None):
        """Images from text (a Stable Diffusion folder). `on_step(step, steps, timestep, seconds)`
        may return True to stop. `init_noise`: a flat list of n_images * 4 * (height/8) * (width/8)
        standard normal values. Width and height 0 take the pipeline's default size.
        Image to image: `init_image` = (width, height, rgb bytes), 8-bit RGB row-major (a PIL
        image gives them as (*image.size, image.convert("RGB").tobytes())); the images take
        its size, and `strength` in (0, 1] (default 0.75) says how much of it to redraw."""
        options = _Txt2ImgOptions()
        _lib.genrt_txt2img_options_init(ctypes.byref(options))
        options.prompt, options.negative_prompt = prompt.encode(), negative_prompt.encode()
        options.steps, options.guidance, options.seed = steps, guidance, seed
        options.width, options.height, options.n_images, options.clip_skip = width, height, n_images, clip_skip
        if scheduler is not None:
            options.scheduler = scheduler.encode()
        if init_noise is not None:
            noise = (ctypes.c_float * len(init_noise))(*init_noise)
            options.init_noise, options.init_noise_count = noise, len(init_noise)
        if init_image is not None:
            image_width, image_height, rgb_bytes = init_image
            if len(rgb_bytes) != image_width * image_height * 3:
                raise ValueError(f"init_image holds {len(rgb_bytes)} bytes; {image_width}x{image_height} RGB needs "
                                 f"{image_width * image_height * 3}")
            pixels = (ctypes.c_uint8 * len(rgb_bytes)).from_buffer_copy(rgb_bytes)
            options.init_image = ctypes.cast(pixels, ctypes.POINTER(ctypes.c_uint8))
            options.init_image_width, options.init_image_height = image_width, image_height
            if strength is not None:
                options.strength = strength
        elif strength is not None:
            raise ValueError("strength says how much of init_image to redraw; give init_image")
        count = ctypes.c_size_t()
        _check(_lib.genrt_txt2img_image_bytes(self._handle, ctypes.byref(options), ctypes.byref(count)))
        c_callback = _step_callback(on_step)  # kept alive for the call
        rgb = (ctypes.c_uint8 * count.value)()
        result = _ImageResult(struct_size=ctypes.sizeof(_ImageResult))
        _check(_lib.genrt_txt2img(self._handle, ctypes.byref(options), c_callback, None, rgb, count.value,
                                  ctypes.byref(result)))
        size = result.width * result.height * 3
        data = bytes(rgb)
        images = [] if result.cancelled else [data[i * size:(i + 1) * size] for i in range(result.n_images)]
        return ImageResult(images, result.width, result.height, result.steps_done, bool(result.cancelled),
                           result.seconds)
