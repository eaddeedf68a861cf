#include "runtime/server/webui.h"

#include <httplib.h>

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "runtime/core/error.h"
#include "runtime/server/embedded_file.h"

namespace genrt {

// Images come back from /v1/images/generations as base64, shown and saved through data:
// URLs; everything else is the server's own.
const std::string_view kWebuiContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

namespace {

std::string content_type(std::string_view name) {
  const auto is = [&](std::string_view extension) { return name.ends_with(extension); };
  if (is(".html")) return "text/html; charset=utf-8";
  if (is(".css")) return "text/css; charset=utf-8";
  if (is(".js")) return "text/javascript; charset=utf-8";
  if (is(".svg")) return "image/svg+xml";
  fail("runtime/server/webui/{} has no content type: add its extension to webui.cpp", name);
}

// A strong validator (FNV-1a, 64 bits, of the bytes): a file changes only with the binary.
std::string etag_of(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (const char c : bytes) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return fmt::format("\"{:016x}\"", hash);
}

// A regex matching exactly `path` (httplib's routes are regexes).
std::string route_of(std::string_view path) {
  std::string route;
  for (const char c : path) {
    if (c == '.') route += '\\';
    route += c;
  }
  return route;
}

}  // namespace

void install_webui_routes(httplib::Server& server) {
  for (const EmbeddedFile& file : webui_files()) {
    const std::string path = file.name == "index.html" ? "/" : fmt::format("/webui/{}", file.name);
    server.Get(route_of(path), [bytes = file.bytes, type = content_type(file.name), etag = etag_of(file.bytes)](
                                   const httplib::Request& req, httplib::Response& res) {
      res.set_header("Content-Security-Policy", std::string(kWebuiContentSecurityPolicy));
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("Cache-Control", "no-cache");
      res.set_header("ETag", etag);
      if (req.get_header_value("If-None-Match") == etag) {
        res.status = 304;
        return;
      }
      res.set_content(bytes.data(), bytes.size(), type.c_str());
    });
  }
}

}  // namespace genrt
