#pragma once
// What Stable Diffusion XL (diffusers' StableDiffusionXLPipeline) conditions its UNet on,
// beyond SD's text states: two CLIP text encoders whose penultimate hidden states are
// joined on the feature axis, the second one's pooled text embedding, and six "time ids"
// (the image's original size, crop corner and target size) for the UNet's added embedding;
// and the prompt batch (prompt rows, then negative rows) that SD and SDXL both tokenize.
// SDXL's refiner (StableDiffusionXLImg2ImgPipeline without text_encoder/) conditions on the
// second encoder alone and on five time ids, an aesthetic score in place of the target size.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/models/clip/clip_text_model.h"
#include "runtime/tokenizer/clip_tokenizer.h"

namespace genrt {

class DeviceRuntime;

// The second text encoder of an SDXL folder and the pipeline's settings for it.
struct SdxlTextEncoder2 {
  ClipTokenizer tokenizer;  // tokenizer_2/
  ClipTextModel model;      // text_encoder_2/: a CLIPTextModelWithProjection
  // model_index.json's force_zeros_for_empty_prompt (diffusers' default true): without a
  // negative prompt, guidance's unconditional half conditions on zeros, not on "".
  bool force_zeros_for_empty_prompt = true;
  // model_index.json's requires_aesthetics_score (the refiner's true): the time ids end in
  // an aesthetic score, not the target size (sdxl_aesthetic_time_ids).
  bool requires_aesthetics_score = false;
};

// One run's prompts as the UNet's batch takes them (SD's and SDXL's): the prompt for each
// of `images`, then (guided) the negative prompt for each.
struct PromptBatch {
  std::string prompt, negative_prompt;  // for SDXL an empty negative prompt is diffusers' None
  int64_t images = 1;
  bool guided = true;
  int64_t clip_skip = 0;

  int64_t samples() const { return guided ? 2 * images : images; }
};

// The batch's token ids [samples, tokenizer.max_length()]; `truncated` is set when a prompt
// the batch takes lost tokens.
Tensor prompt_batch_ids(const ClipTokenizer& tokenizer, const PromptBatch& batch, bool& truncated);

struct SdxlConditioning {
  Tensor text;                  // [samples, tokens, width 1 + width 2]: penultimate states, joined (the
                                // refiner's: text_encoder_2's alone, a view of workspace_2)
  Tensor pooled;                // [samples, projection_dim]: text_encoder_2's text_embeds
  bool prompt_truncated = false;
};

// Encodes `prompts` with both encoders (workspaces for at least the run's samples; the
// tokenizers of the same length) into buffers from `allocate`; on the GPU it opens its own
// DeviceRuntime::Step. `tokenizer`, `text_encoder` and `workspace` are null for the
// refiner, which has text_encoder_2 alone. Clip skip
// applies to the prompt and the negative prompt alike (diffusers' pipeline skips layers for
// the prompt only).
SdxlConditioning sdxl_conditioning(const PromptBatch& prompts, const ClipTokenizer* tokenizer,
                                   const ClipTextModel* text_encoder, const SdxlTextEncoder2& second,
                                   ClipTextWorkspace* workspace, ClipTextWorkspace& workspace_2,
                                   const std::function<Tensor(const Shape&, DType)>& allocate, DeviceRuntime* runtime);

// diffusers' _get_add_time_ids for an image of height x width with the default crop (0, 0)
// and target size: (height, width, 0, 0, height, width) for each of `samples`.
std::vector<float> sdxl_time_ids(int64_t height, int64_t width, int64_t samples);

// The same with requires_aesthetics_score (the refiner): (height, width, 0, 0, aesthetic)
// for the batch's prompt rows and (height, width, 0, 0, negative_aesthetic) for its
// negative rows (diffusers' defaults 6.0 and 2.5).
std::vector<float> sdxl_aesthetic_time_ids(int64_t height, int64_t width, const PromptBatch& batch, double aesthetic,
                                           double negative_aesthetic);

}  // namespace genrt
