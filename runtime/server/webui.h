#pragma once
// The web playground (runtime/server/webui/): GET / answers its page and GET /webui/NAME
// its scripts and style sheet, from the copies embedded in the binary at build time. The
// page talks to the server's own OpenAI endpoints, so what a person sees is what a client
// gets; it holds no secrets and is served without the API key, which the page sends on
// its /v1 calls. Every file goes out with a Content-Security-Policy that allows the
// server's own scripts, styles and API and nothing from elsewhere (no inline script),
// and an ETag that the browser revalidates (`Cache-Control: no-cache`): a 304 until the
// binary changes.

#include <string_view>

namespace httplib {
class Server;
}

namespace genrt {

// The Content-Security-Policy of the page and its files.
extern const std::string_view kWebuiContentSecurityPolicy;

// Adds the playground's GET routes to `server`.
void install_webui_routes(httplib::Server& server);

}  // namespace genrt
