#pragma once
// The OpenAI-compatible HTTP server (cpp-httplib):
//   POST /v1/completions, POST /v1/chat/completions   (stream: true -> Server-Sent Events)
//   POST /v1/embeddings                                (an encoder's; embeddings_api.h)
//   POST /v1/images/generations                        (a diffusion pipeline's; images_api.h)
//   GET  /v1/models (each model with the endpoints it answers), GET /health (503 while
//        loading), GET /metrics (Prometheus)
//   GET  /  the web playground (webui.h), unless ServerOptions::webui is off
// Every error is an OpenAI-shaped JSON body; bad input is a 4xx, never a 500. Each
// connection has a thread of its own, held to ConnectionLimits (connection_limits.h).

#include <atomic>
#include <memory>
#include <string>

#include "runtime/server/connection_limits.h"
#include "runtime/server/embeddings_api.h"
#include "runtime/server/images_api.h"
#include "runtime/server/metrics.h"
#include "runtime/server/serving_engine.h"
#include "runtime/tokenizer/chat_template.h"

namespace genrt {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;            // 0: any free port (see bind())
  std::string api_key;        // empty: no authentication
  std::string model_name = "genrt";
  bool webui = true;          // the playground page at / (genrt serve --no-webui turns it off)
  ConnectionLimits limits;
};

class HttpServer {
 public:
  explicit HttpServer(ServerOptions options);
  ~HttpServer();

  // Binds the listening socket and returns the port (the chosen one when port is 0).
  int bind();
  // Serves until stop(); call bind() first.
  void listen();
  void stop();
  // Serves one accepted connection until it closes, and closes it: what each connection's
  // thread runs, and how the request fuzzer feeds bytes in (after bind()).
  void serve_connection(int socket);

  // The model is loaded: from now on the API answers (until then it is 503). `chat` may
  // be null (chat completions refused); both must outlive the server.
  void set_engine(ServingEngine* engine, const ChatTemplate* chat);
  // An encoder is loaded instead: /v1/embeddings answers (it must outlive the server).
  void set_embedder(EmbeddingService* embedder);
  // A Stable Diffusion pipeline is loaded instead: /v1/images/generations answers.
  void set_image_service(ImageService* images);
  ServerMetrics& metrics() { return *metrics_; }

 private:
  class Listener;
  void install_routes();

  ServerOptions options_;
  std::unique_ptr<Listener> server_;
  std::shared_ptr<ServerMetrics> metrics_;
  ConnectionCounter connections_;
  std::atomic<bool> stopping_{false};
  int stop_pipe_[2] = {-1, -1};  // a byte in it ends every connection's waits
  int listen_socket_ = -1;
  std::atomic<ServingEngine*> engine_{nullptr};
  std::atomic<const ChatTemplate*> chat_{nullptr};
  std::atomic<EmbeddingService*> embedder_{nullptr};
  std::atomic<ImageService*> images_{nullptr};
};

}  // namespace genrt
