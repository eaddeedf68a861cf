/* genrt C API: load a model, tokenize, generate with a streaming callback; embed texts with an encoder.
 *
 * Conventions
 * - Every function returns a genrt_status; on failure, genrt_last_error() gives a
 *   message for the calling thread (valid until its next genrt call).
 * - Handles are opaque. Every entry checks its arguments: NULL or freed handles, bad
 *   enums and out-of-range parameters are errors, never crashes. No C++ exception
 *   crosses this API.
 * - Option structs start with struct_size; fill them with the *_init functions first,
 *   so that programs built against an older header keep working.
 * - Output buffers use the two-call pattern: pass capacity 0 to learn the size.
 */
#ifndef GENRT_H
#define GENRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GENRT_BUILDING_LIBRARY)
#define GENRT_C_API __attribute__((visibility("default")))
#else
#define GENRT_C_API
#endif

#define GENRT_VERSION_MAJOR 0
#define GENRT_VERSION_MINOR 1
#define GENRT_VERSION_PATCH 0

typedef enum genrt_status {
  GENRT_OK = 0,
  GENRT_ERROR_INVALID_ARGUMENT = 1, /* NULL or freed handle, bad enum, value out of range */
  GENRT_ERROR_MODEL = 2,            /* missing or malformed model / tokenizer files */
  GENRT_ERROR_OUT_OF_MEMORY = 3,
  GENRT_ERROR_UNSUPPORTED = 4,      /* e.g. a device this build does not have */
  GENRT_ERROR_BUFFER_TOO_SMALL = 5, /* the needed size is in the count/length output */
  GENRT_ERROR_INTERNAL = 6
} genrt_status;

typedef enum genrt_device { GENRT_DEVICE_CPU = 0, GENRT_DEVICE_CUDA = 1 } genrt_device;
typedef enum genrt_dtype { GENRT_DTYPE_F32 = 0, GENRT_DTYPE_BF16 = 1, GENRT_DTYPE_F16 = 2 } genrt_dtype;
typedef enum genrt_finish_reason {
  GENRT_FINISH_STOP = 0,     /* an end-of-sequence token */
  GENRT_FINISH_LENGTH = 1,   /* max_tokens or the context */
  GENRT_FINISH_CANCELLED = 2 /* the callback asked to stop */
} genrt_finish_reason;

typedef struct genrt_model genrt_model;

/* Enum-valued fields are int32_t: a fixed size across compilers, and a value outside the
 * enum (checked, reported) is well-defined in C++ too. */
typedef struct genrt_load_options {
  size_t struct_size;
  int32_t device;            /* genrt_device; default CPU */
  int32_t dtype;             /* genrt_dtype; default F32 */
  float gpu_memory_fraction; /* default 0.9 */
  const char* tokenizer;     /* NULL: the model's own */
} genrt_load_options;

typedef struct genrt_sampling {
  size_t struct_size;
  int64_t max_tokens;       /* default 256 */
  float temperature;        /* default 1; 0 is greedy */
  int64_t top_k;            /* default 0 (off) */
  float top_p;              /* default 1 (off) */
  float min_p;              /* default 0 (off) */
  float repetition_penalty; /* default 1 (off) */
  uint64_t seed;            /* default 0 */
  int ignore_eos;           /* default 0 */
  /* Structured output, at most one (read only when struct_size covers them: older callers'
   * structs end above): a GBNF grammar the output follows, or a JSON Schema (JSON text)
   * whose documents it is. NULL: none. */
  const char* grammar;
  const char* json_schema;
} genrt_sampling;

typedef struct genrt_generation_result {
  size_t struct_size;
  int64_t prompt_tokens;
  int64_t generated_tokens;
  int32_t finish_reason; /* genrt_finish_reason */
  double ttft_ms;
  double tokens_per_s;
} genrt_generation_result;

typedef struct genrt_memory_usage {
  size_t struct_size;
  uint64_t weights_bytes;
  uint64_t kv_cache_bytes_per_token;
} genrt_memory_usage;

/* Called for each generated token with the UTF-8 text it completes (text_len may be 0).
 * Return nonzero to stop the generation (finish reason CANCELLED). */
typedef int (*genrt_token_callback)(void* user_data, int32_t token, const char* text, size_t text_len);

GENRT_C_API const char* genrt_version(void); /* "MAJOR.MINOR.PATCH" */
GENRT_C_API const char* genrt_last_error(void);

GENRT_C_API void genrt_load_options_init(genrt_load_options* options);
GENRT_C_API void genrt_sampling_init(genrt_sampling* sampling);

/* path: a Hugging Face model directory or a llama2.c checkpoint. options may be NULL. */
GENRT_C_API genrt_status genrt_model_load(const char* path, const genrt_load_options* options, genrt_model** model);
/* Frees the model. NULL is a no-op; a handle freed already is reported, not freed twice. */
GENRT_C_API genrt_status genrt_model_free(genrt_model* model);

GENRT_C_API genrt_status genrt_model_memory(const genrt_model* model, genrt_memory_usage* usage);

/* Token ids of text[0..text_len). Writes at most capacity ids and the full count. */
GENRT_C_API genrt_status genrt_tokenize(const genrt_model* model, const char* text, size_t text_len, int add_special,
                                        int32_t* ids, size_t capacity, size_t* count);
/* UTF-8 text of ids, NUL-terminated when it fits: capacity must exceed the length. */
GENRT_C_API genrt_status genrt_detokenize(const genrt_model* model, const int32_t* ids, size_t n_ids, char* text,
                                          size_t capacity, size_t* length);

/* Generates from a text prompt (needs a tokenizer). callback and result may be NULL;
 * sampling NULL means the defaults. A cancelled generation still returns GENRT_OK. */
GENRT_C_API genrt_status genrt_generate(const genrt_model* model, const char* prompt, const genrt_sampling* sampling,
                                        genrt_token_callback callback, void* user_data, genrt_generation_result* result);
/* The same from token ids, used verbatim. */
GENRT_C_API genrt_status genrt_generate_ids(const genrt_model* model, const int32_t* ids, size_t n_ids,
                                            const genrt_sampling* sampling, genrt_token_callback callback,
                                            void* user_data, genrt_generation_result* result);

/* ---- Diffusion: class-conditional latents from a DiT pipeline ---------------------- */

typedef struct genrt_diffusion_model genrt_diffusion_model;

typedef struct genrt_diffusion_options {
  size_t struct_size;
  const int32_t* class_labels; /* one per image */
  size_t n_images;
  float guidance;              /* default 4; <= 1 runs unguided */
  int64_t steps;               /* default 50 */
  uint64_t seed;               /* default 0: initial and step noise (Philox) */
  const char* scheduler;       /* NULL: the pipeline's; or ddpm, ddim, euler, dpm++2m,
                                  dpm++2m-karras, flow-euler */
  const float* init_noise;     /* NULL: seeded noise; else genrt_diffusion_latent_count floats */
} genrt_diffusion_options;

typedef struct genrt_diffusion_result {
  size_t struct_size;
  int64_t shape[4]; /* images, channels, height, width of the latents written */
  int64_t steps_done;
  int32_t cancelled;
  double seconds;   /* the denoising loop */
} genrt_diffusion_result;

/* Called after each denoising step (step counts from 1). Return nonzero to stop; the
 * latents so far are still written and the result says cancelled. */
typedef int (*genrt_diffusion_callback)(void* user_data, int64_t step, int64_t steps, double timestep,
                                        double step_seconds);

GENRT_C_API void genrt_diffusion_options_init(genrt_diffusion_options* options);

/* path: a diffusers DiT pipeline folder (transformer/, scheduler/) or its transformer
 * folder, or a Stable Diffusion folder (see genrt_txt2img). options may be NULL; the
 * tokenizer field is ignored. */
GENRT_C_API genrt_status genrt_diffusion_model_load(const char* path, const genrt_load_options* options,
                                                    genrt_diffusion_model** model);
/* Frees the model. NULL is a no-op; a handle freed already is reported, not freed twice. */
GENRT_C_API genrt_status genrt_diffusion_model_free(genrt_diffusion_model* model);
GENRT_C_API genrt_status genrt_diffusion_model_memory(const genrt_diffusion_model* model, genrt_memory_usage* usage);

/* How many floats the latents of n_images images take (the size of latents below). */
GENRT_C_API genrt_status genrt_diffusion_latent_count(const genrt_diffusion_model* model, size_t n_images,
                                                      size_t* count);

/* Denoises options->n_images latents into latents[0..capacity), which must hold
 * genrt_diffusion_latent_count floats. callback and result may be NULL. */
GENRT_C_API genrt_status genrt_diffuse(const genrt_diffusion_model* model, const genrt_diffusion_options* options,
                                       genrt_diffusion_callback callback, void* user_data, float* latents,
                                       size_t capacity, genrt_diffusion_result* result);

/* ---- Text to image: a Stable Diffusion pipeline (loaded with genrt_diffusion_model_load) */

typedef struct genrt_txt2img_options {
  size_t struct_size;
  const char* prompt;
  const char* negative_prompt; /* NULL or "": none (the unconditional half is the empty prompt) */
  int64_t steps;               /* default 30 */
  float guidance;              /* default 7.5; <= 1 runs unguided */
  uint64_t seed;               /* default 0: initial and step noise (Philox) */
  int64_t width, height;       /* default 0: the pipeline's size (UNet sample_size x VAE factor) */
  size_t n_images;             /* default 1 */
  int64_t clip_skip;           /* default 0: the text encoder's last layer */
  const char* scheduler;       /* NULL: the pipeline's; or ddpm, ddim, euler, euler-a, dpm++2m,
                                  dpm++2m-karras */
  const float* init_noise;     /* NULL: seeded noise; else [n_images, 4, height/f, width/f] floats */
  size_t init_noise_count;     /* how many floats init_noise holds */
  /* Image to image (read only when struct_size covers these: older callers' ends above). */
  const uint8_t* init_image;   /* NULL: text to image; else init_image_height x init_image_width 8-bit RGB,
                                  row-major; the images made take its size */
  int64_t init_image_width, init_image_height;
  float strength;              /* default 0.75: how much of init_image to redraw, in (0, 1] */
} genrt_txt2img_options;

typedef struct genrt_image_result {
  size_t struct_size;
  int64_t n_images, width, height; /* of the RGB bytes written */
  int64_t steps_done;
  int32_t cancelled;               /* then no bytes were written */
  double seconds;                  /* text encoder, denoising loop and VAE */
} genrt_image_result;

GENRT_C_API void genrt_txt2img_options_init(genrt_txt2img_options* options);

/* How many bytes the images of `options` take: n_images * height * width * 3. */
GENRT_C_API genrt_status genrt_txt2img_image_bytes(const genrt_diffusion_model* model,
                                                   const genrt_txt2img_options* options, size_t* bytes);

/* Generates options->n_images images into rgb[0..capacity) as 8-bit RGB, image after image,
 * row-major; rgb must hold genrt_txt2img_image_bytes. The callback (may be NULL) follows each
 * denoising step and may cancel; result may be NULL. */
GENRT_C_API genrt_status genrt_txt2img(const genrt_diffusion_model* model, const genrt_txt2img_options* options,
                                       genrt_diffusion_callback callback, void* user_data, uint8_t* rgb,
                                       size_t capacity, genrt_image_result* result);

/* ---- Embeddings: sentence vectors from a BERT or RoBERTa encoder ------------------- */

typedef struct genrt_embedding_model genrt_embedding_model;

/* path: a folder with config.json, safetensors and tokenizer.json (and sentence-transformers'
 * modules.json, whose pooling is used; else the mean of the tokens). options may be NULL. */
GENRT_C_API genrt_status genrt_embedding_model_load(const char* path, const genrt_load_options* options,
                                                    genrt_embedding_model** model);
/* Frees the model. NULL is a no-op; a handle freed already is reported, not freed twice. */
GENRT_C_API genrt_status genrt_embedding_model_free(genrt_embedding_model* model);
/* Floats per embedding. */
GENRT_C_API genrt_status genrt_embedding_dimensions(const genrt_embedding_model* model, size_t* dimensions);

/* Embeds n_texts texts (UTF-8; text_lens may be NULL for NUL-terminated texts) into the
 * row-major matrix embeddings[n_texts][dimensions], which holds capacity floats. A text
 * over the model's context is GENRT_ERROR_INVALID_ARGUMENT naming it. */
GENRT_C_API genrt_status genrt_embed(const genrt_embedding_model* model, const char* const* texts,
                                     const size_t* text_lens, size_t n_texts, float* embeddings, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* GENRT_H */
