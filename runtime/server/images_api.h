#pragma once
// POST /v1/images/generations in OpenAI's shape, served by a Stable Diffusion pipeline:
//   {"prompt": "...", "n": 1, "size": "512x512", "response_format": "b64_json", "model": ...,
//    "negative_prompt": "...", "steps": 30, "guidance_scale": 7.5, "seed": 0,
//    "scheduler": "euler-a"}
//   -> {"created": unix time, "data": [{"b64_json": PNG in base64}, ...]}
// The PNGs carry the generation parameters in their "parameters" text chunk. Requests take
// turns on the one loaded pipeline; a client that goes away cancels its job at the next
// step. A malformed or unsupported field is a 400 (ApiError) naming it; "url" responses are
// refused, genrt keeping no image store to link to. While a job runs, /metrics shows its
// step (genrt_image_job_step of genrt_image_job_steps), which the playground draws as its
// progress.

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "runtime/diffusion/sd_pipeline.h"
#include "runtime/server/metrics.h"
#include "runtime/server/request_json.h"

namespace genrt {

class ImageService {
 public:
  // `max_images`: the most images one request may ask for (on the GPU, what memory was
  // planned for).
  ImageService(SdPipeline pipeline, int64_t max_images);

  const SdPipeline& pipeline() const { return pipeline_; }
  // What a request may ask for, listed under "image_options" in /v1/models: the default
  // "size", "steps", "guidance_scale" and "scheduler", the "schedulers" there are, and
  // "max_n".
  nlohmann::json options() const;
  // The response body for a parsed request body; throws ApiError for a bad request, and
  // a 499-style ApiError when client_gone() turned true and the job was cancelled.
  nlohmann::json respond(const RequestJson& body, const std::string& model_name,
                         const std::function<bool()>& client_gone, ServerMetrics& metrics);

 private:
  SdPipeline pipeline_;
  int64_t max_images_;
  std::mutex mutex_;  // one job at a time on the pipeline
};

}  // namespace genrt
