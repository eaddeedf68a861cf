// Fuzz target: raw HTTP/1.1 bytes (request lines, headers, chunked bodies, pipelined
// requests) through the whole server in process: a connection's limits
// (ConnectionStream), httplib's parsing, the routing and the handlers, with a tiny
// random-weight model behind them. The bytes arrive over a socketpair and the client
// side is then closed, so nothing waits on a timeout. No request may get a 500.
#include "tests/fuzz/fuzz_targets.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "runtime/models/llama/llama_init.h"
#include "runtime/models/load_model.h"
#include "runtime/server/http_server.h"
#include "runtime/tokenizer/load_tokenizer.h"

namespace {

struct FuzzedServer {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("genrt_fuzz_http_request_" + std::to_string(::getpid()));
  genrt::ChatTemplate chat{.format = genrt::ChatFormat::llama3, .bos_token = "<|begin_of_text|>",
                           .eos_token = "<|end_of_text|>", .default_system = {}};
  std::unique_ptr<genrt::ServingEngine> engine;
  genrt::HttpServer server{{.host = "127.0.0.1", .port = 0, .api_key = {}, .model_name = "tiny", .limits = {}}};

  FuzzedServer() {
    genrt::write_random_llama(genrt::llama_preset("tiny"), 7, genrt::DType::bf16, dir);
    auto model = genrt::load_causal_lm(dir);
    auto tokenizer = genrt::open_tokenizer(*genrt::find_tokenizer(dir), model->spec().vocab_size);
    engine = std::make_unique<genrt::ServingEngine>(std::move(model), std::move(tokenizer),
                                                    genrt::EngineOptions{.kv_cache_tokens = 4096});
    server.set_engine(engine.get(), &chat);
    server.bind();  // streamed responses run only while the server has its socket
  }
  ~FuzzedServer() { std::filesystem::remove_all(dir); }
};

FuzzedServer& fuzzed() {
  static FuzzedServer s;
  return s;
}

}  // namespace

void genrt::fuzz::http_request(const uint8_t* data, size_t size) {
  FuzzedServer& s = fuzzed();
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) std::abort();
  std::thread serving([&] { s.server.serve_connection(ends[1]); });
  std::thread writing([&] {
    for (size_t sent = 0; sent < size;) {
      const ssize_t n = ::send(ends[0], data + sent, size - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server closed the connection
      sent += static_cast<size_t>(n);
    }
    ::shutdown(ends[0], SHUT_WR);
  });
  char replies[4096];
  while (::recv(ends[0], replies, sizeof(replies), 0) > 0) {
  }
  writing.join();
  serving.join();
  ::close(ends[0]);
  // The exception handler is the only way to a 500, and counts each one.
  if (s.server.metrics().render({}).find("status=\"500\"") != std::string::npos) std::abort();
}
