// Internal: URL parsing, sgd error bodies and name checks (no I/O, no Beast).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sg::client::detail {

struct base_url {
  std::string text;    // as given, without a trailing '/'
  std::string host;
  std::uint16_t port = 80;
  std::string prefix;  // path prefix without a trailing '/', "" for none
  std::string host_header() const;
};

// "http://host[:port][/prefix]" (also "host:port"); false with `err` set otherwise.
bool parse_base_url(std::string_view text, base_url& out, std::string& err);

// sgd's {"error":{"code":"...","message":"..."}}: true (and the fields) if `body` has it.
bool parse_error_body(std::string_view body, std::string& code, std::string& message);

// The first `max` bytes of `s`, with "..." when cut.
std::string clip(std::string_view s, std::size_t max);

// Group names as sgd accepts them: [A-Za-z0-9._-]{1,128}.
bool valid_group(std::string_view g);
// No control characters or spaces (they would break the request line).
bool valid_target(std::string_view t);

}  // namespace sg::client::detail
