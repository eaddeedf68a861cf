#include "tests/e2e/test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "runtime/models/llama/llama_init.h"
#include "runtime/models/load_model.h"
#include "runtime/tokenizer/load_tokenizer.h"

namespace genrt::test {

using nlohmann::json;

void TestServer::start(const std::filesystem::path& model_dir, const EngineOptions& engine_options, bool load) {
  port_ = server_.bind();
  listener_ = std::thread([this] { server_.listen(); });
  if (load) {
    auto model = load_causal_lm(model_dir);
    auto tokenizer = open_tokenizer(*find_tokenizer(model_dir), model->spec().vocab_size);
    chat_ = ChatTemplate{.format = ChatFormat::llama3, .bos_token = "<|begin_of_text|>", .eos_token = "<|end_of_text|>", .default_system = {}};
    engine_ = std::make_unique<ServingEngine>(std::move(model), std::move(tokenizer), engine_options);
    server_.set_engine(engine_.get(), &chat_);
  }
}

int64_t TestServer::kv_blocks_used_when_idle() {
  for (int i = 0; i < 200; ++i) {
    const EngineCounts c = engine_->counts();
    if (c.running == 0 && c.waiting == 0 && c.kv_blocks_free == c.kv_blocks_total) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const EngineCounts c = engine_->counts();
  return c.kv_blocks_total - c.kv_blocks_free;
}

namespace {

double metric_of(httplib::Client client, const std::string& name) {
  const auto res = client.Get("/metrics");
  const size_t at = res->body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(res->body.substr(at + name.size() + 2));
}

}  // namespace

double metric(const TestServer& server, const std::string& name) { return metric_of(server.client(), name); }

LoopbackServer::LoopbackServer(const std::string& model_name, ServerOptions options)
    : server_([&] {
        options.port = 0;
        options.model_name = model_name;
        return options;
      }()),
      port_(server_.bind()),
      listener_([this] { server_.listen(); }) {}

LoopbackServer::~LoopbackServer() {
  server_.stop();
  listener_.join();
}

httplib::Client LoopbackServer::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(120, 0);
  return c;
}

json LoopbackServer::post(const std::string& path, const json& body, int expected_status) const {
  const auto res = client().Post(path, body.dump(), "application/json");
  EXPECT_TRUE(res) << "no response";
  if (!res) return {};
  EXPECT_EQ(res->status, expected_status) << res->body;
  return json::parse(res->body);
}

double LoopbackServer::metric(const std::string& name) const { return metric_of(client(), name); }

TempDir* Server::dir_ = nullptr;
TestServer* Server::server_ = nullptr;

json Server::post(const std::string& path, const json& body, int expected_status) {
  auto res = server_->client().Post(path, body.dump(), "application/json");
  EXPECT_TRUE(res) << "no response";
  if (!res) return {};
  EXPECT_EQ(res->status, expected_status) << res->body;
  return json::parse(res->body);
}

Server::Streamed Server::stream(const std::string& path, json body, int stop_after) {
  body["stream"] = true;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  Streamed out;
  std::string buffer;
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    buffer.append(data, size);
    for (size_t end; (end = buffer.find("\n\n")) != std::string::npos; buffer.erase(0, end + 2)) {
      const std::string event = buffer.substr(0, end);
      if (event.rfind("data: ", 0) != 0) continue;
      const std::string payload = event.substr(6);
      if (payload == "[DONE]") {
        out.done = true;
        continue;
      }
      out.chunks.push_back(json::parse(payload));
      for (const auto& choice : out.chunks.back()["choices"]) {
        if (choice.contains("text")) out.text += choice["text"].get<std::string>();
        if (choice.contains("delta") && choice["delta"].contains("content")) out.text += choice["delta"]["content"].get<std::string>();
      }
      if (stop_after > 0 && static_cast<int>(out.chunks.size()) >= stop_after) return false;
    }
    return true;
  };
  server_->client().send(req);
  return out;
}

json completion(const std::string& prompt, int max_tokens) {
  return {{"model", "tiny"}, {"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0}, {"ignore_eos", true}};
}

RawClient::RawClient(int port, const std::string& local_ip) : socket_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  if (socket_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, local_ip.c_str(), &local.sin_addr);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  if (::bind(socket_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      ::connect(socket_, reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0) {
    ::close(socket_);
    throw std::runtime_error("cannot connect from " + local_ip);
  }
}

RawClient::~RawClient() { ::close(socket_); }

void RawClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(socket_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the server closed: what it said is there to read
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

std::string RawClient::read_until_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd fd{socket_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&fd, 1, static_cast<int>(left.count())) <= 0) return out;
    const ssize_t n = ::recv(socket_, buffer, sizeof(buffer), 0);
    if (n <= 0) return out;
    out.append(buffer, static_cast<size_t>(n));
  }
}

bool RawClient::has_reply(std::chrono::milliseconds timeout) const {
  pollfd fd{socket_, POLLIN, 0};
  return ::poll(&fd, 1, static_cast<int>(timeout.count())) > 0;
}

int status_of(const std::string& reply) {
  std::smatch m;
  return std::regex_search(reply, m, std::regex("^HTTP/1\\.1 (\\d{3}) ")) ? std::stoi(m[1]) : 0;
}

json body_of(const std::string& reply) {
  const size_t start = reply.rfind("\r\n\r\n");
  return start == std::string::npos ? json() : json::parse(reply.substr(start + 4), nullptr, false);
}

int64_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

}  // namespace genrt::test
