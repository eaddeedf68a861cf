#pragma once
// The HTTP server under test over real loopback HTTP, on the CPU backend with a tiny
// random-weight model (genrt init-model's "tiny" preset), and raw sockets for the clients
// that httplib::Client would never be.

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/models/llama/llama_init.h"
#include "runtime/server/http_server.h"
#include "tests/test_util.h"

namespace genrt::test {

// A server on an ephemeral port, with its own engine.
class TestServer {
 public:
  TestServer(const std::filesystem::path& model_dir, EngineOptions engine_options, ServerOptions options = {},
             bool load = true)
      : server_([&] {
          options.port = 0;
          options.model_name = "tiny";
          return options;
        }()) {
    start(model_dir, engine_options, load);
  }
  ~TestServer() {
    server_.stop();
    listener_.join();
  }
  httplib::Client client() const {  // a new connection each time
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }
  ServingEngine& engine() { return *engine_; }
  int port() const { return port_; }
  // Chats from now on use `chat` (the default: llama3). Only between requests.
  void set_chat_template(const ChatTemplate& chat) {
    chat_ = chat;
    server_.set_engine(engine_.get(), &chat_);
  }

  // KV blocks in use, once the engine has settled (counts update after each step).
  int64_t kv_blocks_used_when_idle();

 private:
  void start(const std::filesystem::path& model_dir, const EngineOptions& engine_options, bool load);

  HttpServer server_;
  int port_ = 0;
  std::thread listener_;
  ChatTemplate chat_;
  std::unique_ptr<ServingEngine> engine_;
};

class Server : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_random_llama(llama_preset("tiny"), 7, DType::bf16, dir_->path());
    server_ = new TestServer(dir_->path(), {.scheduler = {.max_batch_tokens = 256, .max_running = 64}, .kv_cache_tokens = 16384});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  // Posts `body` and expects `expected_status`; the response's JSON.
  static nlohmann::json post(const std::string& path, const nlohmann::json& body, int expected_status = 200);

  struct Streamed {
    std::string text;
    std::vector<nlohmann::json> chunks;
    bool done = false;
  };
  // Streams a request; `stop_after` > 0 drops the connection after that many chunks.
  static Streamed stream(const std::string& path, nlohmann::json body, int stop_after = 0);

  static TempDir* dir_;
  static TestServer* server_;
};

// An HttpServer on an ephemeral loopback port, listening on a thread of its own until
// destroyed; the test tells it what to serve (set_embedder, set_image_service).
class LoopbackServer {
 public:
  explicit LoopbackServer(const std::string& model_name, ServerOptions options = {});
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  HttpServer& server() { return server_; }
  int port() const { return port_; }
  httplib::Client client() const;  // a new connection, 120 s read timeout
  // Posts `body` and expects `expected_status`; the response's JSON.
  nlohmann::json post(const std::string& path, const nlohmann::json& body, int expected_status) const;
  // A counter or gauge of /metrics (-1 if absent).
  double metric(const std::string& name) const;

 private:
  HttpServer server_;
  int port_ = 0;
  std::thread listener_;
};

// A counter or gauge of the server's /metrics (-1 if absent).
double metric(const TestServer& server, const std::string& name);

// A greedy completion that generates exactly `max_tokens`.
nlohmann::json completion(const std::string& prompt, int max_tokens);

// A client on a raw socket, connected from `local_ip` (any 127.x.y.z is this machine's
// loopback, so tests can be several client addresses); closed when destroyed.
class RawClient {
 public:
  RawClient(int port, const std::string& local_ip = "127.0.0.1");
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void send(std::string_view bytes);
  // What the server sends until it closes the connection (or `timeout` passes).
  std::string read_until_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Whether the server has sent anything (or closed), waiting up to `timeout`.
  bool has_reply(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const;

 private:
  int socket_;
};

// The status code of the first response in `reply` (0 if none).
int status_of(const std::string& reply);
// The JSON body of the last response in `reply`.
nlohmann::json body_of(const std::string& reply);
// This process's resident memory in bytes.
int64_t resident_bytes();

}  // namespace genrt::test
