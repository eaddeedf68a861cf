#include "runtime/server/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "runtime/server/completion_job.h"
#include "runtime/server/sse_stream.h"

namespace genrt {

namespace {

constexpr int kListenBacklog = 1024;

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
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

}  // namespace

HttpServer::HttpServer(ServerOptions options)
    : options_(std::move(options)), server_(std::make_unique<httplib::Server>()), metrics_(std::make_shared<ServerMetrics>()) {
  const int threads = options_.http_threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // Stream chunks are small writes: without TCP_NODELAY, Nagle's algorithm holds each one
  // until the client's delayed ACK (~40 ms), which would show up as inter-token latency.
  server_->set_tcp_nodelay(true);
  server_->set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;  // the listening socket, to deepen its backlog after bind
  });
  install_routes();
}

HttpServer::~HttpServer() { stop(); }

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
  if (server_->is_running()) server_->stop();
}

void HttpServer::set_engine(ServingEngine* engine, const ChatTemplate* chat) {
  chat_ = chat;
  engine_ = engine;
}

void HttpServer::install_routes() {
  httplib::Server& s = *server_;

  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/v1/", 0) != 0 || options_.api_key.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + options_.api_key) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    send_json(res, 401, {{"error", {{"message", "Incorrect or missing API key: send 'Authorization: Bearer <key>'"},
                                    {"type", "invalid_request_error"}, {"param", nullptr}, {"code", "invalid_api_key"}}}});
    metrics_->request_finished(req.path, 401);
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
    metrics_->request_finished(req.path, 500);
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) send_error(res, res.status, fmt::format("no route for {} {}", req.method, req.path), "invalid_request_error");
  });

  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (engine_ == nullptr) {
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
    if (engine == nullptr) return send_error(res, 503, "the model is still loading", "service_unavailable");
    send_json(res, 200, {{"object", "list"},
                         {"data", {{{"id", options_.model_name}, {"object", "model"}, {"created", unix_time()},
                                    {"owned_by", "genrt"}, {"max_model_len", engine->model().spec().context_length}}}}});
    metrics_->request_finished(req.path, 200);
  });

  auto completion = [this](Endpoint endpoint) {
    return [this, endpoint](const httplib::Request& req, httplib::Response& res) {
      ServingEngine* engine = engine_;
      int status = 200;
      try {
        if (engine == nullptr) throw ApiError(503, "the model is still loading", "service_unavailable");
        const nlohmann::json body = parse_request_body(req.body);
        const ApiContext ctx{&engine->tokenizer(), chat_.load(), options_.model_name,
                             engine->model().spec().context_length};
        const CompletionParams params = parse_completion_request(body, endpoint, ctx);
        auto job = std::make_shared<CompletionJob>(*engine, params, metrics_);
        ResponseIdentity identity{.id = random_id(endpoint == Endpoint::chat ? "chatcmpl" : "cmpl"),
                                  .created = unix_time(),
                                  .model = options_.model_name};
        if (!params.stream) {
          send_json(res, 200, response_json(params, identity, job->collect()));
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
}

}  // namespace genrt
