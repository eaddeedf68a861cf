#include "runtime/diffusion/sdxl_conditioning.h"

#include <algorithm>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/ops.h"
#include "runtime/core/error.h"

namespace genrt {

namespace {

// Zeros into `rows` of a device (or host) tensor; on the device in stream order, after the
// encoders that wrote them.
void zero(Tensor rows, DeviceRuntime* runtime) {
  if (runtime == nullptr) {
    std::fill(rows.data<float>(), rows.data<float>() + rows.numel(), 0.0f);
  } else {
    runtime->copy_in(Tensor::zeros(rows.shape(), DType::f32), rows);
  }
}

}  // namespace

Tensor prompt_batch_ids(const ClipTokenizer& tokenizer, const PromptBatch& p, bool& truncated) {
  const ClipTokens prompt = tokenizer.encode(p.prompt);
  const ClipTokens negative = tokenizer.encode(p.negative_prompt);
  truncated = truncated || prompt.truncated || (p.guided && negative.truncated);
  const int64_t tokens = tokenizer.max_length();
  Tensor ids = Tensor::zeros({p.samples(), tokens}, DType::i32);
  for (int64_t s = 0; s < p.samples(); ++s) {
    const std::vector<int32_t>& row = s < p.images ? prompt.ids : negative.ids;
    std::copy(row.begin(), row.end(), ids.data<int32_t>() + s * tokens);
  }
  return ids;
}

SdxlConditioning sdxl_conditioning(const PromptBatch& p, const ClipTokenizer* tokenizer,
                                   const ClipTextModel* text_encoder, const SdxlTextEncoder2& second,
                                   ClipTextWorkspace* workspace, ClipTextWorkspace& workspace_2,
                                   const std::function<Tensor(const Shape&, DType)>& allocate, DeviceRuntime* runtime) {
  GENRT_CHECK((tokenizer == nullptr) == (text_encoder == nullptr) && (text_encoder == nullptr) == (workspace == nullptr),
              "SDXL conditioning: the first text encoder needs its tokenizer and workspace (or none of the three)");
  const int64_t samples = p.samples();
  SdxlConditioning out;
  const Tensor ids_2 = prompt_batch_ids(second.tokenizer, p, out.prompt_truncated);
  // A step of its own for each encoder: a step's workspace is planned for one model's
  // uploads. What the first leaves (its penultimate states) is persistent.
  ClipSdxlConditioning first;
  if (text_encoder != nullptr) {
    const Tensor ids = prompt_batch_ids(*tokenizer, p, out.prompt_truncated);
    const int64_t tokens = ids.dim(1);
    const int64_t width = text_encoder->config().hidden_size + second.model.config().hidden_size;
    out.text = allocate({samples, tokens, width}, workspace_2.hidden_state.dtype());  // the models' dtype
    const auto step = step_on(runtime);
    first = text_encoder->sdxl_conditioning(ids, p.clip_skip, *workspace);
  }
  {
    const auto step = step_on(runtime);
    const ClipSdxlConditioning last = second.model.sdxl_conditioning(ids_2, p.clip_skip, workspace_2);
    GENRT_CHECK(last.pooled.defined(), "SDXL: text_encoder_2/ has no text_projection (a CLIPTextModelWithProjection)");
    if (text_encoder != nullptr) {
      ops::concat_channels(first.hidden, last.hidden, out.text);
    } else {
      out.text = last.hidden;  // the workspace's penultimate states: valid across steps
    }
    out.pooled = last.pooled;  // persistent: valid across steps
  }
  // diffusers' force_zeros_for_empty_prompt: no negative prompt conditions on zeros.
  if (p.guided && p.negative_prompt.empty() && second.force_zeros_for_empty_prompt) {
    zero(out.text.slice(p.images, samples), runtime);
    zero(out.pooled.slice(p.images, samples), runtime);
  }
  return out;
}

std::vector<float> sdxl_time_ids(int64_t height, int64_t width, int64_t samples) {
  const auto h = static_cast<float>(height), w = static_cast<float>(width);
  std::vector<float> ids;
  ids.reserve(static_cast<size_t>(6 * samples));
  for (int64_t s = 0; s < samples; ++s) ids.insert(ids.end(), {h, w, 0.0f, 0.0f, h, w});
  return ids;
}

std::vector<float> sdxl_aesthetic_time_ids(int64_t height, int64_t width, const PromptBatch& batch, double aesthetic,
                                           double negative_aesthetic) {
  const auto h = static_cast<float>(height), w = static_cast<float>(width);
  std::vector<float> ids;
  ids.reserve(static_cast<size_t>(5 * batch.samples()));
  for (int64_t s = 0; s < batch.samples(); ++s) {
    const double score = s < batch.images ? aesthetic : negative_aesthetic;
    ids.insert(ids.end(), {h, w, 0.0f, 0.0f, static_cast<float>(score)});
  }
  return ids;
}

}  // namespace genrt
