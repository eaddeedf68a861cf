// The web playground's files over loopback HTTP, without a browser: the page at /, every
// script and style sheet it loads served with its type, the Content-Security-Policy that
// keeps out anything not the server's own, revalidation by ETag, the page open while the
// API needs a key, and --no-webui (ServerOptions::webui) making / a 404 again, in the
// server and in `genrt serve` itself. tests/e2e/webui_browser_test.py drives the page.

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/server/embedded_file.h"
#include "runtime/server/webui.h"
#include "tests/e2e/test_server.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

// The paths a file loads: src and href attributes of the page, imports of a module.
std::set<std::string> loaded_paths(const std::string& text) {
  static const std::regex kLoads(R"((?:src|href)="(/[^"]*)\"|from "\./([^"]+)\")");
  std::set<std::string> paths;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kLoads); it != std::sregex_iterator(); ++it) {
    paths.insert((*it)[1].matched ? (*it)[1].str() : "/webui/" + (*it)[2].str());
  }
  return paths;
}

std::string expected_type(const std::string& path) {
  if (path == "/") return "text/html; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  return "unknown extension: " + path;
}

TEST(WebUi, ThePageIsAtTheRootUnderAPolicyThatAllowsOnlyTheServersOwn) {
  test::LoopbackServer server("tiny");
  const auto page = server.client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  const std::string policy = page->get_header_value("Content-Security-Policy");
  EXPECT_EQ(policy, kWebuiContentSecurityPolicy);
  for (const char* directive : {"default-src 'self'", "script-src 'self';", "connect-src 'self'", "object-src 'none'"}) {
    EXPECT_NE(policy.find(directive), std::string::npos) << directive;
  }
  for (const char* loosening : {"unsafe-inline", "unsafe-eval", "http:", "https:", "*"}) {
    EXPECT_EQ(policy.find(loosening), std::string::npos) << loosening;
  }
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
  // Nothing the policy would block: no inline script, handler attribute or style attribute.
  EXPECT_FALSE(std::regex_search(page->body, std::regex("<script(?![^>]*\\ssrc=)"))) << "an inline script";
  EXPECT_FALSE(std::regex_search(page->body, std::regex("\\son[a-z]+=|\\sstyle=|<style"))) << "inline handler or style";
}

// From the page, every file it loads, and every module those import, is served with its
// type and the policy; none names another host, and nothing embedded goes unused.
TEST(WebUi, EveryFileThePageLoadsIsServedWithItsType) {
  test::LoopbackServer server("tiny");
  std::set<std::string> seen;
  std::vector<std::string> pending = {"/"};
  while (!pending.empty()) {
    const std::string path = pending.back();
    pending.pop_back();
    if (!seen.insert(path).second) continue;
    const auto res = server.client().Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->get_header_value("Content-Type"), expected_type(path));
    EXPECT_EQ(res->get_header_value("Content-Security-Policy"), kWebuiContentSecurityPolicy) << path;
    EXPECT_FALSE(std::regex_search(res->body, std::regex("https?://"))) << path << " names another host";
    for (const std::string& loaded : loaded_paths(res->body)) pending.push_back(loaded);
  }
  EXPECT_EQ(seen.size(), webui_files().size()) << "an embedded file the page never loads, or one it lacks";
  EXPECT_TRUE(seen.contains("/webui/main.js") && seen.contains("/webui/style.css") && seen.contains("/webui/chat.js"));
}

TEST(WebUi, ABrowserRevalidatesByETagAndGetsA304UntilTheFileChanges) {
  test::LoopbackServer server("tiny");
  const auto first = server.client().Get("/webui/main.js");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->get_header_value("Cache-Control"), "no-cache");
  const std::string etag = first->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  const auto again = server.client().Get("/webui/main.js", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  const auto other = server.client().Get("/webui/main.js", {{"If-None-Match", "\"0000000000000000\""}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  EXPECT_EQ(other->body, first->body);
  EXPECT_NE(server.client().Get("/")->get_header_value("ETag"), etag);
}

// The page holds no secret: it loads without the key, and asks for it when /v1 says 401.
TEST(WebUi, ThePageLoadsWithoutTheKeyThatTheApiNeeds) {
  test::LoopbackServer server("tiny", {.api_key = "secret"});
  EXPECT_EQ(server.client().Get("/")->status, 200);
  EXPECT_EQ(server.client().Get("/webui/api.js")->status, 200);
  EXPECT_EQ(server.client().Get("/v1/models")->status, 401);
  EXPECT_EQ(server.client().Get("/v1/models", {{"Authorization", "Bearer secret"}})->status, 503);  // nothing loaded
}

TEST(WebUi, TurnedOffTheRootIsA404Again) {
  test::LoopbackServer server("tiny", {.webui = false});
  for (const char* path : {"/", "/webui/main.js"}) {
    const auto res = server.client().Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_EQ(nlohmann::json::parse(res->body).at("error").at("message"), std::string("no route for GET ") + path);
  }
  EXPECT_EQ(server.client().Get("/health")->status, 503);  // the rest is as before
}

// `genrt serve` as a child process, stopped (SIGTERM) when destroyed.
class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args) {
    args.insert(args.begin(), {GENRT_CLI, "serve", "--port", "0"});
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_.string().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EXPECT_EQ(posix_spawn(&pid_, GENRT_CLI, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ServeProcess() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  // The port from the log's "listening on http://127.0.0.1:PORT" (0 if none within 30 s).
  int port() const {
    static const std::regex kListening("listening on http://[0-9.]+:([0-9]+)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      const std::string text = test::read_file(log_);
      if (std::regex_search(text, m, kListening)) return std::stoi(m[1]);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return 0;
  }
  std::string log() const { return test::read_file(log_); }

 private:
  test::TempDir dir_;
  std::filesystem::path log_ = dir_.path() / "serve.log";
  pid_t pid_ = -1;
};

TEST(WebUi, GenrtServeServesThePageUnlessNoWebui) {
  const std::string model = (test::data_dir() / "tiny_sd" / "sd1").string();
  for (const bool off : {false, true}) {
    ServeProcess serve(off ? std::vector<std::string>{"--model", model, "--no-webui"}
                           : std::vector<std::string>{"--model", model});
    const int port = serve.port();
    ASSERT_GT(port, 0) << serve.log();
    httplib::Client client("127.0.0.1", port);
    const auto page = client.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, off ? 404 : 200) << (off ? "--no-webui" : "default");
  }
}

}  // namespace
}  // namespace genrt
