#include "runtime/server/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "runtime/server/completion_job.h"
#include "runtime/server/chat_tools.h"
#include "runtime/server/connection_stream.h"
#include "runtime/server/connection_threads.h"
#include "runtime/server/sse_stream.h"
#include "runtime/server/webui.h"

namespace genrt {

namespace {

constexpr int kListenBacklog = 1024;
// Threads beyond the connection cap, for the connections being refused.
constexpr size_t kRefusalThreads = 32;

template <class Json = nlohmann::json>  // a braced list is a nlohmann::json
void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(dump_json(body), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message, const std::string& type,
                const std::string& param = "") {
  send_json(res, status, error_body(message, type, param));
}

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{}-{:016x}", prefix, rng());
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The endpoint a request is counted under in /metrics: a route, or "other" (a client's
// made-up paths must not grow the metrics).
std::string metrics_endpoint(const std::string& path) {
  for (const char* route :
       {"/v1/completions", "/v1/chat/completions", "/v1/embeddings", "/v1/images/generations", "/v1/models"}) {
    if (path == route) return path;
  }
  return "other";
}

std::string body_too_large(const ConnectionLimits& limits) {
  return fmt::format("the request body is larger than {} bytes", limits.max_body_bytes);
}

// A message for the errors httplib answers itself, before any handler runs.
std::string http_error_message(const httplib::Request& req, int status, const ConnectionLimits& limits) {
  switch (status) {
    case 400: return "malformed HTTP request";
    case 413: return body_too_large(limits);
    case 414: return "the request line is too long";
    default: return fmt::format("no route for {} {}", req.method, req.path);
  }
}

// The connection whose request this thread is serving (each connection has a thread), so
// that a long handler can tell when its client has gone.
thread_local const ConnectionStream* current_connection = nullptr;

}  // namespace

// httplib's server with genrt's connection handling in place of its own.
class HttpServer::Listener : public httplib::Server {
 public:
  explicit Listener(HttpServer& owner) : owner_(owner) {}

  // One request of a connection; false: close the connection.
  bool serve_request(httplib::Stream& stream, bool last, bool& client_closes) {
    return process_request(stream, last, client_closes, nullptr);
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    owner_.serve_connection(sock);
    return true;
  }

  HttpServer& owner_;
};

HttpServer::HttpServer(ServerOptions options)
    : options_(std::move(options)),
      server_(std::make_unique<Listener>(*this)),
      metrics_(std::make_shared<ServerMetrics>()),
      connections_(options_.limits.max_connections, options_.limits.max_connections_per_client) {
  GENRT_CHECK(::pipe2(stop_pipe_, O_CLOEXEC) == 0, "pipe() failed: {}", std::strerror(errno));
  const size_t threads = options_.limits.max_connections + kRefusalThreads;
  server_->new_task_queue = [threads] { return new ConnectionThreads(threads); };
  server_->set_payload_max_length(options_.limits.max_body_bytes);
  // Stream chunks are small writes: without TCP_NODELAY, Nagle's algorithm holds each one
  // until the client's delayed ACK (~40 ms), which would show up as inter-token latency.
  server_->set_tcp_nodelay(true);
  server_->set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;  // the listening socket, to deepen its backlog after bind
  });
  install_routes();
}

HttpServer::~HttpServer() {
  stop();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

int HttpServer::bind() {
  const int port = options_.port == 0 ? server_->bind_to_any_port(options_.host)
                                      : (server_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  GENRT_CHECK(port > 0, "cannot listen on {}:{} (in use, or not an address of this machine)", options_.host, options_.port);
  // Debian's cpp-httplib listens with a backlog of 5: a burst of clients connecting at
  // once would be refused. Listening again on the bound socket raises it.
  GENRT_CHECK(::listen(listen_socket_, kListenBacklog) == 0, "listen() failed: {}", std::strerror(errno));
  return port;
}

void HttpServer::listen() { server_->listen_after_bind(); }

void HttpServer::stop() {
  if (!server_->is_running()) return;
  stopping_ = true;
  const char byte = 0;
  GENRT_CHECK(::write(stop_pipe_[1], &byte, 1) == 1, "cannot signal the connections to stop: {}", std::strerror(errno));
  server_->stop();
}

void HttpServer::serve_connection(int socket) {
  ConnectionStream stream(socket, options_.limits, stop_pipe_[0]);
  const auto refuse = [&](int status, const std::string& message, const char* type, bool retry_later) {
    stream.refuse(status, dump_json(error_body(message, type, "")), retry_later);
  };
  const std::string client = stream.remote_ip();
  std::optional<ConnectionCounter::Ticket> ticket;
  switch (connections_.admit(client, ticket)) {
    case ConnectionCounter::Admission::admitted: break;
    case ConnectionCounter::Admission::server_full:
      refuse(503, fmt::format("the server has its maximum of {} connections open; retry later", options_.limits.max_connections),
             "service_unavailable", true);
      break;
    case ConnectionCounter::Admission::client_full:
      refuse(503, fmt::format("{} has its maximum of {} connections open; retry later", client,
                              options_.limits.max_connections_per_client),
             "service_unavailable", true);
      break;
  }
  for (bool open = ticket.has_value(); open;) {
    switch (stream.next_request()) {
      case ConnectionStream::Arrival::request: {
        bool client_closes = false;
        current_connection = &stream;
        open = server_->serve_request(stream, stopping_, client_closes) && !client_closes && !stopping_;
        current_connection = nullptr;
        if (stream.body_failure() == ConnectionStream::BodyFailure::timed_out) {
          refuse(408, fmt::format("the request body did not arrive within {} ms", options_.limits.request_timeout.count()),
                 "invalid_request_error", false);
          open = false;
        } else if (stream.body_failure() == ConnectionStream::BodyFailure::too_large) {
          refuse(413, body_too_large(options_.limits), "invalid_request_error", false);
          open = false;
        }
        break;
      }
      case ConnectionStream::Arrival::timed_out:
        refuse(408, fmt::format("the request headers did not arrive within {} ms", options_.limits.request_timeout.count()),
               "invalid_request_error", false);
        open = false;
        break;
      case ConnectionStream::Arrival::headers_too_large:
        refuse(431, fmt::format("the request line and headers are larger than {} bytes", options_.limits.max_header_bytes),
               "invalid_request_error", false);
        open = false;
        break;
      case ConnectionStream::Arrival::too_many_headers:
        refuse(431, fmt::format("the request has more than {} header fields", options_.limits.max_headers),
               "invalid_request_error", false);
        open = false;
        break;
      case ConnectionStream::Arrival::closed:
      case ConnectionStream::Arrival::stopping: open = false; break;
    }
  }
  ::shutdown(socket, SHUT_RDWR);
  ::close(socket);
}

void HttpServer::set_engine(ServingEngine* engine, const ChatTemplate* chat) {
  chat_ = chat;
  engine_ = engine;
}

void HttpServer::set_embedder(EmbeddingService* embedder) { embedder_ = embedder; }

void HttpServer::set_image_service(ImageService* images) { images_ = images; }

void HttpServer::install_routes() {
  httplib::Server& s = *server_;

  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/v1/", 0) != 0 || options_.api_key.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + options_.api_key) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    send_json(res, 401, {{"error", {{"message", "Incorrect or missing API key: send 'Authorization: Bearer <key>'"},
                                    {"type", "invalid_request_error"}, {"param", nullptr}, {"code", "invalid_api_key"}}}});
    metrics_->request_finished(metrics_endpoint(req.path), 401);
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("{} {}: {}", req.method, req.path, what);
    send_error(res, 500, "internal error: " + what, "internal_error");
    metrics_->request_finished(metrics_endpoint(req.path), 500);
  });
  s.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) send_error(res, res.status, http_error_message(req, res.status, options_.limits), "invalid_request_error");
  });

  if (options_.webui) install_webui_routes(s);
  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (engine_ == nullptr && embedder_ == nullptr && images_ == nullptr) {
      send_json(res, 503, {{"status", "loading"}});
    } else {
      send_json(res, 200, {{"status", "ok"}});
    }
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    ServingEngine* engine = engine_;
    res.set_content(metrics_->render(engine ? engine->counts() : EngineCounts{}), "text/plain; version=0.0.4");
  });
  s.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    ServingEngine* engine = engine_;
    EmbeddingService* embedder = embedder_;
    ImageService* images = images_;
    if (engine == nullptr && embedder == nullptr && images == nullptr) {
      return send_error(res, 503, "the model is still loading", "service_unavailable");
    }
    nlohmann::json model = {{"id", options_.model_name}, {"object", "model"}, {"created", unix_time()}, {"owned_by", "genrt"}};
    if (engine != nullptr || embedder != nullptr) {
      model["max_model_len"] = engine ? engine->model().spec().context_length : embedder->embedder().context_length();
    }
    // What the model answers, so that a client (the playground among them) can tell.
    if (engine != nullptr) {
      model["endpoints"] = chat_ != nullptr ? nlohmann::json{"/v1/completions", "/v1/chat/completions"}
                                            : nlohmann::json{"/v1/completions"};
    } else if (embedder != nullptr) {
      model["endpoints"] = {"/v1/embeddings"};
    } else {
      model["endpoints"] = {"/v1/images/generations"};
      model["image_options"] = images->options();
    }
    send_json(res, 200, {{"object", "list"}, {"data", {std::move(model)}}});
    metrics_->request_finished(req.path, 200);
  });

  auto completion = [this](Endpoint endpoint) {
    return [this, endpoint](const httplib::Request& req, httplib::Response& res) {
      ServingEngine* engine = engine_;
      int status = 200;
      try {
        if (engine == nullptr && embedder_ != nullptr) {
          throw ApiError(400, "the model is served for embeddings: it answers /v1/embeddings, not completions (a decoder "
                              "generates when served without --embedding-pooling)");
        }
        if (engine == nullptr && images_ != nullptr) {
          throw ApiError(400, "the served model is a diffusion pipeline: it answers /v1/images/generations, not "
                              "completions");
        }
        if (engine == nullptr) throw ApiError(503, "the model is still loading", "service_unavailable");
        const RequestJson body = parse_request_body(req.body);
        const ModelSpec& spec = engine->model().spec();
        // An encoder-decoder's context also holds the decoder's start token after the prompt.
        const int64_t context = spec.context_length - (spec.decoder_start_token_id ? 1 : 0);
        const ApiContext ctx{&engine->tokenizer(), chat_.load(), options_.model_name, context,
                             spec.vocab_size};
        const CompletionParams params = parse_completion_request(body, endpoint, ctx);
        auto job = std::make_shared<CompletionJob>(*engine, params, metrics_);
        ResponseIdentity identity{.id = random_id(endpoint == Endpoint::chat ? "chatcmpl" : "cmpl"),
                                  .created = unix_time(),
                                  .model = options_.model_name};
        if (!params.stream) {
          std::vector<ChoiceResult> choices = job->collect();
          static thread_local std::mt19937_64 rng(std::random_device{}());
          for (ChoiceResult& choice : choices) read_tool_calls(params, choice, rng);
          send_json(res, 200, response_json(params, identity, choices, job->cached_prompt_tokens()));
        } else {
          auto stream = std::make_shared<SseStream>(job, params, std::move(identity));
          res.set_header("Cache-Control", "no-cache");
          res.set_chunked_content_provider(
              "text/event-stream", [stream](size_t, httplib::DataSink& sink) { return stream->write_next(sink); },
              [job](bool success) {
                if (!success) job->cancel();
              });
        }
      } catch (const ApiError& e) {
        status = e.status;
        send_error(res, e.status, e.what(), e.type, e.param);
      }
      metrics_->request_finished(req.path, status);
    };
  };
  s.Post("/v1/completions", completion(Endpoint::completions));
  s.Post("/v1/chat/completions", completion(Endpoint::chat));
  s.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
    EmbeddingService* embedder = embedder_;
    int status = 200;
    try {
      if (embedder == nullptr && engine_ != nullptr) {
        throw ApiError(400, "the model is served for generation: /v1/embeddings needs an encoder (BERT, RoBERTa), or a "
                            "decoder served with --embedding-pooling last");
      }
      if (embedder == nullptr && images_ != nullptr) {
        throw ApiError(400, "the served model is a diffusion pipeline: /v1/embeddings needs an encoder (BERT, RoBERTa) or "
                            "a decoder served with --embedding-pooling last");
      }
      if (embedder == nullptr) throw ApiError(503, "the model is still loading", "service_unavailable");
      send_json(res, 200, embedder->respond(parse_request_body(req.body), options_.model_name));
    } catch (const ApiError& e) {
      status = e.status;
      send_error(res, e.status, e.what(), e.type, e.param);
    }
    metrics_->request_finished(req.path, status);
  });
  s.Post("/v1/images/generations", [this](const httplib::Request& req, httplib::Response& res) {
    ImageService* images = images_;
    int status = 200;
    try {
      if (images == nullptr && (engine_ != nullptr || embedder_ != nullptr)) {
        throw ApiError(400, "the served model is not a diffusion pipeline: /v1/images/generations needs one "
                            "(a Stable Diffusion folder)");
      }
      if (images == nullptr) throw ApiError(503, "the model is still loading", "service_unavailable");
      const ConnectionStream* connection = current_connection;
      const auto client_gone = [connection] { return connection != nullptr && connection->peer_closed(); };
      send_json(res, 200, images->respond(parse_request_body(req.body), options_.model_name, client_gone, *metrics_));
    } catch (const ApiError& e) {
      status = e.status;
      send_error(res, e.status, e.what(), e.type, e.param);
    }
    metrics_->request_finished(req.path, status);
  });
}

}  // namespace genrt
