// Clients that hold connections without finishing requests, trickle bytes, send too much
// or too many: each is bounded by ConnectionLimits and refused with a clear status, and
// none of them delays anyone else's request.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/test_server.h"

namespace genrt {
namespace {

using nlohmann::json;
using test::RawClient;
using test::TestServer;
using Clock = std::chrono::steady_clock;

const EngineOptions kEngine{.scheduler = {.max_batch_tokens = 256, .max_running = 64}, .kv_cache_tokens = 4096};
constexpr std::string_view kHalfOpen = "POST /v1/completions HTTP/1.1\r\nHost: genrt\r\n";  // and then nothing

class ServerConnections : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Both ends of every connection are in this process: 1,200 descriptors for the flood.
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
    dir_ = new test::TempDir();
    write_random_llama(llama_preset("tiny"), 7, DType::bf16, dir_->path());
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::unique_ptr<TestServer> serve(ConnectionLimits limits = {}) {
    return std::make_unique<TestServer>(dir_->path(), kEngine, ServerOptions{.limits = limits});
  }

  static test::TempDir* dir_;
};
test::TempDir* ServerConnections::dir_ = nullptr;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string post_request(const std::string& body) {
  return "POST /v1/completions HTTP/1.1\r\nHost: genrt\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The target: 500 half-open and 100 idle keep-alive connections (from three
// other addresses, within the per-client cap) cost an ordinary completion at most a
// second, and the server stays within 50 MB of its resident memory before them.
TEST_F(ServerConnections, HalfOpenAndIdleFloodDoesNotDelayACompletion) {
  const auto server = serve();
  const json request = test::completion("Once upon a time", 32);
  auto timed_completion = [&] {
    const auto start = Clock::now();
    const auto res = server->client().Post("/v1/completions", request.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 200);
    return seconds_since(start);
  };
  timed_completion();  // warm-up
  const double alone = timed_completion();
  const int64_t baseline = test::resident_bytes();

  std::vector<std::unique_ptr<RawClient>> half_open, idle;
  for (int i = 0; i < 500; ++i) {
    half_open.push_back(std::make_unique<RawClient>(server->port(), "127.0.0." + std::to_string(2 + i % 3)));
    half_open.back()->send(kHalfOpen);
  }
  for (int i = 0; i < 100; ++i) {
    idle.push_back(std::make_unique<RawClient>(server->port(), "127.0.0." + std::to_string(2 + i % 3)));
    idle.back()->send("GET /health HTTP/1.1\r\nHost: genrt\r\n\r\n");
  }
  // Every idle connection has been answered, so each has a thread, and the half-open
  // ones (connected before them) have theirs too.
  for (const auto& c : idle) ASSERT_TRUE(c->has_reply(std::chrono::seconds(5)));
  const double flooded = timed_completion();
  const int64_t during = test::resident_bytes();

  std::printf("completion alone %.3f s, with 600 connections held %.3f s; resident memory %+.1f MB\n", alone, flooded,
              static_cast<double>(during - baseline) / 1e6);
  EXPECT_LT(flooded, alone + 1.0);
#ifndef GENRT_SANITIZE  // ASan's shadow memory and quarantine are not the server's
  EXPECT_LT(during - baseline, 50'000'000);
#endif
  // The server held them all (none was refused, none timed out yet).
  for (const auto& c : half_open) ASSERT_FALSE(c->has_reply());
}

TEST_F(ServerConnections, ConnectionsBeyondTheCapsGet503WithRetryAfter) {
  const auto server = serve({.max_connections = 6, .max_connections_per_client = 3});
  std::vector<std::unique_ptr<RawClient>> held;
  // Connections are counted when their thread takes them up, a moment after connect().
  const auto counted = [] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); };
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawClient>(server->port(), "127.0.0.2"));
    held.back()->send(kHalfOpen);
  }
  counted();
  RawClient fourth(server->port(), "127.0.0.2");
  fourth.send(post_request(test::completion("x", 1).dump()));
  const std::string refused = fourth.read_until_closed();
  EXPECT_EQ(test::status_of(refused), 503) << refused;
  EXPECT_NE(refused.find("\r\nRetry-After: 1\r\n"), std::string::npos) << refused;
  EXPECT_EQ(test::body_of(refused)["error"]["message"], "127.0.0.2 has its maximum of 3 connections open; retry later");

  RawClient other(server->port(), "127.0.0.3");  // another address is served
  other.send(post_request(test::completion("x", 1).dump()));
  EXPECT_EQ(test::status_of(other.read_until_closed(std::chrono::milliseconds(500))), 200);

  for (int i = 0; i < 2; ++i) {  // with `other`, six
    held.push_back(std::make_unique<RawClient>(server->port(), "127.0.0." + std::to_string(4 + i)));
    held.back()->send(kHalfOpen);
  }
  counted();
  RawClient seventh(server->port(), "127.0.0.8");
  const std::string full = seventh.read_until_closed();
  EXPECT_EQ(test::status_of(full), 503) << full;
  EXPECT_EQ(test::body_of(full)["error"]["message"], "the server has its maximum of 6 connections open; retry later");
}

TEST_F(ServerConnections, RequestsSlowerThanTheRequestTimeoutGet408) {
  const auto server = serve({.request_timeout = std::chrono::milliseconds(600)});
  const auto start = Clock::now();
  RawClient half_open(server->port());
  half_open.send(kHalfOpen);

  // A byte every 100 ms never lets a read time out; the request as a whole does.
  RawClient trickle(server->port());
  std::string trickled;
  const std::string request = "GET /health HTTP/1.1\r\nHost: genrt\r\nX-Slow: ";
  for (size_t i = 0; i < 12 && !trickle.has_reply(); ++i) {
    trickle.send(std::string(1, request[i % request.size()]));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string slow = trickle.read_until_closed();
  const double trickle_closed = seconds_since(start);

  RawClient short_body(server->port());
  short_body.send("POST /v1/completions HTTP/1.1\r\nHost: genrt\r\nContent-Length: 100\r\n\r\n{\"prompt\":");

  const std::string half_reply = half_open.read_until_closed();
  EXPECT_EQ(test::status_of(half_reply), 408) << half_reply;
  EXPECT_EQ(test::body_of(half_reply)["error"]["message"], "the request headers did not arrive within 600 ms");
  EXPECT_EQ(test::status_of(slow), 408) << slow;
  EXPECT_LT(trickle_closed, 1.1);
  const std::string body_reply = short_body.read_until_closed();
  EXPECT_EQ(test::status_of(body_reply), 408) << body_reply;
  EXPECT_EQ(test::body_of(body_reply)["error"]["message"], "the request body did not arrive within 600 ms");
}

TEST_F(ServerConnections, IdleConnectionsCloseAfterTheKeepAliveTimeout) {
  const auto server = serve({.keep_alive_timeout = std::chrono::milliseconds(300)});
  RawClient idle(server->port());
  idle.send("GET /health HTTP/1.1\r\nHost: genrt\r\n\r\n");
  const auto start = Clock::now();
  const std::string reply = idle.read_until_closed();
  EXPECT_EQ(test::status_of(reply), 200);
  EXPECT_LT(seconds_since(start), 1.0);
}

TEST_F(ServerConnections, OversizedHeadersAndBodiesAreRefused) {
  const auto server = serve({.max_header_bytes = 1024, .max_headers = 8, .max_body_bytes = 4096});
  auto exchange = [&](const std::string& bytes) {
    RawClient c(server->port());
    c.send(bytes);
    return c.read_until_closed();
  };
  const std::string long_header = exchange("GET /health HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  EXPECT_EQ(test::status_of(long_header), 431) << long_header;
  EXPECT_EQ(test::body_of(long_header)["error"]["message"], "the request line and headers are larger than 1024 bytes");

  std::string many = "GET /health HTTP/1.1\r\n";
  for (int i = 0; i < 9; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  const std::string too_many = exchange(many + "\r\n");
  EXPECT_EQ(test::status_of(too_many), 431) << too_many;
  EXPECT_EQ(test::body_of(too_many)["error"]["message"], "the request has more than 8 header fields");

  const std::string big = exchange(post_request("{\"prompt\": \"" + std::string(5000, 'a') + "\"}"));
  EXPECT_EQ(test::status_of(big), 413) << big;
  EXPECT_EQ(test::body_of(big)["error"]["message"], "the request body is larger than 4096 bytes");

  std::string chunked = "POST /v1/completions HTTP/1.1\r\nHost: genrt\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) chunked += "400\r\n" + std::string(1024, ' ') + "\r\n";
  const std::string big_chunked = exchange(chunked + "0\r\n\r\n");
  EXPECT_EQ(test::status_of(big_chunked), 413) << big_chunked;
}

TEST_F(ServerConnections, PipelinedRequestsAreAnsweredInOrder) {
  const auto server = serve();
  RawClient c(server->port());
  c.send("GET /health HTTP/1.1\r\nHost: genrt\r\n\r\n" + post_request(test::completion("x", 2).dump()) +
         "GET /v1/models HTTP/1.1\r\nHost: genrt\r\nConnection: close\r\n\r\n");
  const std::string replies = c.read_until_closed();
  const size_t first = replies.find("HTTP/1.1 200");
  const size_t second = replies.find("\"text_completion\"");
  const size_t third = replies.find("\"owned_by\"");
  EXPECT_NE(first, std::string::npos) << replies;
  EXPECT_LT(first, second) << replies;
  EXPECT_NE(second, std::string::npos) << replies;
  EXPECT_LT(second, third) << replies;
  EXPECT_NE(third, std::string::npos) << replies;
}

}  // namespace
}  // namespace genrt
