#pragma once
// Absolute http(s) URLs as nodes register them: validation at registration, and the parts the
// proxy and prober need to connect (host, port, TLS or not, path prefix).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sg {

struct url_parts {
  bool tls = false;
  std::string host;  // without brackets for IPv6 literals
  uint16_t port = 0;
  std::string path;  // "" or starts with '/'; query included
};

// Accepts http://host[:port][/path] and https://...; no userinfo, no fragment, no spaces or
// control characters, host of [A-Za-z0-9.-] or a bracketed IPv6 literal, port 1..65535.
std::optional<url_parts> parse_url(std::string_view text);

// The Host header for a request to `u`: the host (IPv6 literals in brackets) and the port unless
// it is the scheme's default. The one place sgd builds it (proxy, health checks, webhook).
void host_header(const url_parts& u, std::string& out);
std::string host_header(const url_parts& u);

}  // namespace sg
