#include "actors/url.hpp"

#include <cctype>
#include <charconv>

namespace sg {

std::optional<url_parts> parse_url(std::string_view text) {
  if (text.size() > 2048) return std::nullopt;
  for (unsigned char c : text)
    if (c <= 0x20 || c >= 0x7f) return std::nullopt;
  url_parts out;
  if (text.starts_with("http://")) {
    text.remove_prefix(7);
    out.port = 80;
  } else if (text.starts_with("https://")) {
    text.remove_prefix(8);
    out.tls = true;
    out.port = 443;
  } else {
    return std::nullopt;
  }
  auto end = text.find_first_of("/?#");
  auto authority = text.substr(0, end);
  auto rest = end == std::string_view::npos ? std::string_view{} : text.substr(end);
  if (rest.find('#') != std::string_view::npos) return std::nullopt;
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host = authority, port;
  bool has_port = false;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      has_port = true;
    }
    for (char c : host)
      if (!(isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return std::nullopt;
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      has_port = true;
    }
    for (char c : host)
      if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) return std::nullopt;
  }
  if (host.empty() || host.size() > 253) return std::nullopt;
  if (has_port) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535)
      return std::nullopt;
    out.port = static_cast<uint16_t>(value);
  }
  out.host = std::string(host);
  // A bare query gets its "/" (built, not insert()ed: g++ 12 warns a false -Wrestrict on that).
  out.path = !rest.empty() && rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
  return out;
}

void host_header(const url_parts& u, std::string& out) {
  out.clear();
  bool v6 = u.host.find(':') != std::string::npos;
  if (v6) out += '[';
  out += u.host;
  if (v6) out += ']';
  if (u.port != (u.tls ? 443 : 80)) out += ':' + std::to_string(u.port);
}

std::string host_header(const url_parts& u) {
  std::string out;
  host_header(u, out);
  return out;
}

}  // namespace sg
