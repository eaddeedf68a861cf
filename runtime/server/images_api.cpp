#include "runtime/server/images_api.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <random>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "runtime/core/base64.h"
#include "runtime/io/png_image.h"
#include "runtime/server/embeddings_api.h"
#include "runtime/server/openai_api.h"

namespace genrt {

namespace {

constexpr std::string_view kPath = "/v1/images/generations";

// OpenAI's fields that genrt takes, and its own extensions (diffusers' names).
constexpr std::array<std::string_view, 11> kFields = {"prompt",  "model",          "n",     "size",
                                                      "response_format", "user", "negative_prompt", "steps",
                                                      "guidance_scale",  "seed", "scheduler"};

// "WxH" -> width and height.
ImageSize parse_size(const std::string& text) {
  const size_t x = text.find('x');
  ImageSize size;
  const auto number = [&](std::string_view digits, int64_t& value) {
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return error == std::errc() && end == digits.data() + digits.size() && value > 0;
  };
  if (x == std::string::npos || !number(std::string_view(text).substr(0, x), size.width) ||
      !number(std::string_view(text).substr(x + 1), size.height)) {
    bad_request("size", fmt::format("'size' must be WIDTHxHEIGHT in pixels, like \"512x512\", not \"{}\"", text));
  }
  return size;
}

// A job's progress in /metrics from its start until it ends, however it ends.
class JobProgress {
 public:
  JobProgress(ServerMetrics& metrics, int64_t steps) : metrics_(metrics) { metrics_.image_job_progress(0, steps); }
  ~JobProgress() { metrics_.image_job_progress(0, 0); }
  JobProgress(const JobProgress&) = delete;
  JobProgress& operator=(const JobProgress&) = delete;

 private:
  ServerMetrics& metrics_;
};

}  // namespace

ImageService::ImageService(SdPipeline pipeline, int64_t max_images)
    : pipeline_(std::move(pipeline)), max_images_(max_images) {}

nlohmann::json ImageService::options() const {
  const ImageSize size = pipeline_.default_size();
  const TextToImageRequest defaults;
  return {{"size", fmt::format("{}x{}", size.width, size.height)},
          {"steps", defaults.steps},
          {"guidance_scale", defaults.guidance},
          {"scheduler", scheduler_name(pipeline_.scheduler_config().kind)},
          {"schedulers", scheduler_names()},
          {"max_n", max_images_}};
}

nlohmann::json ImageService::respond(const RequestJson& body, const std::string& model_name,
                                     const std::function<bool()>& client_gone, ServerMetrics& metrics) {
  if (!body.is_object()) bad_request("", "the request body must be a JSON object");
  for (const auto& item : body.items()) {
    const std::string& name = item.key();
    if (std::find(kFields.begin(), kFields.end(), name) == kFields.end()) {
      bad_request(name, fmt::format("'{}' is not a field of {} that genrt takes (neither OpenAI's nor a genrt extension)",
                            name, kPath));
    }
  }
  if (const auto model = request_field<std::string>(body, "model", "a string"); model && *model != model_name) {
    throw ApiError(404, fmt::format("model '{}' does not exist; this server serves '{}'", *model, model_name),
                   "invalid_request_error", "model");
  }
  const auto format = request_field<std::string>(body, "response_format", "a string").value_or("b64_json");
  if (format == "url") {
    bad_request("response_format", "response_format 'url' is not supported: genrt keeps no image store to link to; ask for "
                           "'b64_json'");
  }
  if (format != "b64_json") bad_request("response_format", fmt::format("response_format '{}' is not 'b64_json'", format));

  TextToImageRequest request;
  request.prompt = request_field<std::string>(body, "prompt", "a string").value_or("");
  if (request.prompt.empty()) bad_request("prompt", "'prompt' is required: a non-empty string");
  request.negative_prompt = request_field<std::string>(body, "negative_prompt", "a string").value_or("");
  request.images = request_field<int64_t>(body, "n", "an integer").value_or(1);
  if (request.images < 1 || request.images > max_images_) {
    bad_request("n", fmt::format("'n' must be between 1 and {} (the images this server runs at once)", max_images_));
  }
  if (const auto size = request_field<std::string>(body, "size", "a string like \"512x512\"")) {
    const ImageSize parsed = parse_size(*size);
    request.width = parsed.width;
    request.height = parsed.height;
  }
  request.steps = request_field<int64_t>(body, "steps", "an integer").value_or(request.steps);
  request.guidance = request_field<double>(body, "guidance_scale", "a number").value_or(request.guidance);
  const auto seed = request_field<int64_t>(body, "seed", "a non-negative integer");
  if (seed && *seed < 0) bad_request("seed", "'seed' must be a non-negative integer");
  request.seed = seed ? static_cast<uint64_t>(*seed) : std::random_device{}();
  if (const auto scheduler = request_field<std::string>(body, "scheduler", "a scheduler name")) {
    try {
      request.scheduler = pipeline_.scheduler_config(*scheduler);
    } catch (const Error& e) {
      bad_request("scheduler", e.what());
    }
  }
  try {
    pipeline_.check(request);
  } catch (const Error& e) {
    bad_request("", e.what());
  }

  std::lock_guard lock(mutex_);  // requests take turns on the pipeline
  const ImageSize size = pipeline_.size_of(request);
  spdlog::info("image job: {} image(s) of {}x{}, {} steps, guidance {}, seed {}", request.images, size.width,
               size.height, request.steps, request.guidance, request.seed);
  const JobProgress progress(metrics, request.steps);
  const TextToImageResult result = pipeline_.run(request, [&](const DiffusionProgress& p) {
    metrics.diffusion_step(p.step_seconds);
    metrics.image_job_progress(p.step, p.steps);
    if (p.step == p.steps || p.step % std::max<int64_t>(1, p.steps / 10) == 0) {
      spdlog::info("image job: step {}/{} ({:.2f} it/s)", p.step, p.steps, 1.0 / std::max(p.step_seconds, 1e-9));
    }
    return !client_gone();
  });
  if (result.cancelled) {
    metrics.images_cancelled(request.images);
    spdlog::info("image job: cancelled after {} steps, its client went away", result.steps_done);
    throw ApiError(499, "the client closed the connection", "cancelled");
  }
  const PngText text = pipeline_.png_text(request, model_name);
  nlohmann::json data = nlohmann::json::array();
  for (int64_t i = 0; i < request.images; ++i) {
    const RgbImage image{.width = size.width, .height = size.height, .pixels = to_rgb8(result.images, i)};
    data.push_back({{"b64_json", base64_encode(encode_png(image, text))}});
  }
  metrics.images_generated(request.images);
  spdlog::info("image job: {} image(s) in {:.2f} s", request.images,
               result.setup_seconds + result.seconds + result.decode_seconds);
  const auto created = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return {{"created", created.count()}, {"data", std::move(data)}};
}

}  // namespace genrt
