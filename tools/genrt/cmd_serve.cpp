// genrt serve: the OpenAI-compatible HTTP server.

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "runtime/diffusion/sd_pipeline.h"
#include "runtime/models/bert/pooling.h"
#include "runtime/server/http_server.h"
#include "tools/genrt/commands.h"
#include "tools/genrt/common.h"
#include "tools/genrt/encoder_model.h"

namespace genrt::cli {

namespace {

struct ServeOptions {
  std::string model;
  std::string tokenizer;
  std::string chat_template;
  std::string embedding_pooling;  // set: serve /v1/embeddings (a decoder then does not generate)
  DeviceFlags device;
  ServerOptions server;
  EngineOptions engine;
  int64_t max_images = 4;
  bool vae_tiling = false;
};

// A diffusers Stable Diffusion folder (served at /v1/images/generations).
bool is_diffusion_pipeline(const std::string& model) {
  return std::filesystem::exists(std::filesystem::path(model) / "model_index.json") &&
         std::filesystem::is_directory(std::filesystem::path(model) / "unet");
}

// Milliseconds options, given in seconds on the command line.
void add_seconds_option(CLI::App* cmd, const std::string& name, std::chrono::milliseconds& value, const std::string& help) {
  cmd->add_option_function<double>(
         name, [&value](double seconds) { value = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)); },
         fmt::format("{} (default {})", help, std::chrono::duration<double>(value).count()))
      ->check(CLI::PositiveNumber)
      ->type_name("SECONDS");
}

void add_connection_options(CLI::App* cmd, ConnectionLimits& limits) {
  add_seconds_option(cmd, "--request-timeout", limits.request_timeout,
                     "Time a request's headers and body may take to arrive, from its first byte; slower is a 408");
  add_seconds_option(cmd, "--keep-alive-timeout", limits.keep_alive_timeout,
                     "Time an idle connection is kept open between requests");
  add_seconds_option(cmd, "--write-timeout", limits.write_timeout,
                     "Time a write may wait for a client that reads nothing before its connection is dropped");
  cmd->add_option("--max-connections", limits.max_connections,
                  "Connections open at once in all (each has a thread); beyond, 503 with Retry-After")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-connections-per-client", limits.max_connections_per_client,
                  "Connections open at once from one client address; beyond, 503 with Retry-After")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", limits.max_body_bytes, "Largest request body (as sent); beyond, 413")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-header-bytes", limits.max_header_bytes, "Largest request line and headers; beyond, 431")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-headers", limits.max_headers, "Most header fields in a request; beyond, 431")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

// Each connection takes a descriptor; the soft limit (often 1,024) is raised to the hard
// one, and a cap the limit cannot honour is reported.
void raise_open_file_limit(const ConnectionLimits& limits) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return;
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  ::getrlimit(RLIMIT_NOFILE, &files);
  constexpr rlim_t kOtherFiles = 64;  // model files, logs, the listening socket
  if (files.rlim_cur < limits.max_connections + kOtherFiles) {
    spdlog::warn("--max-connections {} needs more open files than this process may have ({}); raise `ulimit -n`",
                 limits.max_connections, files.rlim_cur);
  }
}

// The name clients send as `model` when --served-model-name is not given: the model
// directory's name (a llama2c file's name without its extension), as vLLM names a model by
// its path.
std::string default_model_name(const std::string& model) {
  const std::filesystem::path path = std::filesystem::absolute(model).lexically_normal();
  const std::filesystem::path named = path.has_filename() ? path : path.parent_path();  // "dir/" names dir
  return std::filesystem::is_directory(named) ? named.filename().string() : named.stem().string();
}

void run_serve(ServeOptions o) {
  GENRT_CHECK(o.embedding_pooling.empty() || !is_diffusion_pipeline(o.model),
              "--embedding-pooling: {} is a Stable Diffusion pipeline, which does not embed text", o.model);
  GENRT_CHECK(!o.vae_tiling || is_diffusion_pipeline(o.model),
              "--vae-tiling: {} is not a Stable Diffusion pipeline folder, whose VAE the flag tiles", o.model);
  if (o.server.model_name.empty()) o.server.model_name = default_model_name(o.model);
  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  raise_open_file_limit(o.server.limits);
  HttpServer server(o.server);
  const int port = server.bind();
  std::thread listener([&] { server.listen(); });
  spdlog::info("listening on http://{}:{} (health 503 until the model is loaded)", o.server.host, port);

  std::unique_ptr<ServingEngine> engine;
  std::unique_ptr<EmbeddingService> embedder;
  std::unique_ptr<ImageService> images;
  std::optional<ChatTemplate> chat;
  try {
    if (is_diffusion_pipeline(o.model)) {
      GENRT_CHECK(o.max_images > 0, "--max-images {} must be positive", o.max_images);
      images = std::make_unique<ImageService>(SdPipeline::load(o.model, std::nullopt,
                                                               {.device = parse_device(o.device.device),
                                                                .dtype = parse_gpu_dtype(o.device.dtype),
                                                                .gpu_memory = o.device.gpu_memory,
                                                                .max_images = o.max_images,
                                                                .vae_tiling = o.vae_tiling,
                                                                .cuda_graphs = !o.device.no_cuda_graphs}),
                                              o.max_images);
    } else if (is_encoder(o.model) || !o.embedding_pooling.empty()) {
      LoadedEmbedder loaded = load_embedder(o.model, o.tokenizer, o.embedding_pooling, o.device);
      embedder = std::make_unique<EmbeddingService>(std::move(loaded.embedder), std::move(loaded.tokenizer));
    } else {
      LoadedModel loaded = load_model(o.model, o.tokenizer, o.device);
      GENRT_CHECK(loaded.tokenizer != nullptr,
                  "serving needs the model's tokenizer (tokenizer.json), or --tokenizer PATH");
      auto choice = model_chat_template(*loaded.tokenizer, o.chat_template);
      if (auto* found = std::get_if<ChatTemplate>(&choice)) {
        chat = std::move(*found);
      } else {
        spdlog::warn("/v1/chat/completions is off: {}", std::get<std::string>(choice));
      }
      engine = std::make_unique<ServingEngine>(std::move(loaded.model), std::move(loaded.tokenizer), o.engine);
    }
  } catch (...) {
    server.stop();
    listener.join();
    throw;
  }
  if (images) {
    server.set_image_service(images.get());
    const ImageSize size = images->pipeline().default_size();
    spdlog::info("serving Stable Diffusion pipeline '{}' at http://{}:{}/v1/images/generations ({}x{} by default, up "
                 "to {} images per request)",
                 o.server.model_name, o.server.host, port, size.width, size.height, o.max_images);
  } else if (embedder) {
    server.set_embedder(embedder.get());
    const Embedder& e = embedder->embedder();
    spdlog::info("serving {} '{}' at http://{}:{}/v1/embeddings ({} floats, {} pooling{})", e.architecture(),
                 o.server.model_name, o.server.host, port, e.dimensions(), pooling_name(e.pooling().mode),
                 e.pooling().normalize ? ", normalized" : "");
  } else {
    server.set_engine(engine.get(), chat ? &*chat : nullptr);
    spdlog::info("serving '{}' at http://{}:{}/v1 ({})", o.server.model_name, o.server.host, port,
                 chat ? fmt::format("chat format {}", chat_format_name(chat->format)) : std::string("no chat"));
  }

  if (o.server.webui) spdlog::info("web playground at http://{}:{}/ (--no-webui turns it off)", o.server.host, port);

  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("signal {}: shutting down", signal);
  server.stop();
  listener.join();
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve a model over an OpenAI-compatible HTTP API (continuous batching), with a web playground at /");
  cmd->add_option("--model", o->model,
                  "Hugging Face model directory (with tokenizer.json), llama2.c .bin, or a Stable Diffusion pipeline "
                  "folder (diffusers' layout: served at /v1/images/generations)")
      ->required();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json or tokenizer.bin (default: the model's)")
      ->check(CLI::ExistingPath);
  cmd->add_option("--host", o->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o->server.port, "Port to listen on (0: any free port, logged)")->capture_default_str();
  cmd->add_option("--api-key", o->server.api_key,
                  "Require 'Authorization: Bearer KEY' on /v1 endpoints (the playground page asks for it once)");
  cmd->add_flag_callback(
      "--no-webui", [o] { o->server.webui = false; },
      "Serve no web playground at / (chat, completions, images and live metrics in a browser; / is then a 404)");
  o->server.model_name.clear();
  cmd->add_option("--served-model-name", o->server.model_name,
                  "Model name in the API (default: the model directory's name)");
  cmd->add_option("--chat-template", o->chat_template,
                  fmt::format("Chat format instead of the model's template: {}", fmt::join(chat_format_names(), ", ")));
  add_embedding_pooling_option(
      cmd, o->embedding_pooling,
      "Serve /v1/embeddings, pooling the final hidden states by the first token (cls), their mean or the last "
      "token: an encoder's default is its modules.json's (else mean); a decoder served so embeds by its last "
      "token and does not generate");
  cmd->add_option("--max-queue", o->engine.max_queue, "Waiting requests beyond this get 429")->capture_default_str();
  cmd->add_option("--max-running", o->engine.scheduler.max_running, "Sequences decoded together")->capture_default_str();
  cmd->add_option("--max-batch-tokens", o->engine.scheduler.max_batch_tokens,
                  "Tokens per step (decodes + prompt chunks); bounds how long one step takes")
      ->capture_default_str();
  o->engine.kv_cache_tokens = 16384;
  cmd->add_option("--kv-cache-tokens", o->engine.kv_cache_tokens, "Token slots in the KV cache (at least one context)")
      ->capture_default_str();
  cmd->add_flag_callback(
      "--no-prefix-caching", [o] { o->engine.scheduler.prefix_caching = false; },
      "Compute every prompt in full instead of sharing the KV blocks of prefixes computed before");
  cmd->add_option("--max-images", o->max_images,
                  "Images one /v1/images/generations request may ask for (a pipeline on the GPU plans memory for "
                  "this many of its default size)")
      ->capture_default_str();
  cmd->add_flag("--vae-tiling", o->vae_tiling,
                "A pipeline's VAE decodes in overlapping tiles of its sample_size (as txt2img --vae-tiling): "
                "device memory for one tile's activations");
  add_connection_options(cmd, o->server.limits);
  add_device_options(cmd, o->device);
  add_cuda_graph_option(cmd, o->device);
  return {cmd, [o] { run_serve(*o); }};
}

}  // namespace genrt::cli
