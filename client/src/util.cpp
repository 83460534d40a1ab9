#include "util.hpp"

#include <rapidjson/document.h>

#include <cctype>
#include <charconv>

namespace sg::client::detail {

std::string base_url::host_header() const {
  bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  return port == 80 ? h : h + ":" + std::to_string(port);
}

bool parse_base_url(std::string_view text, base_url& out, std::string& err) {
  std::string_view s = text;
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  out = {};
  out.text = std::string(s);
  if (s.starts_with("https://")) {
    err = "https controller URLs are not supported: " + std::string(text);
    return false;
  }
  if (s.starts_with("http://")) s.remove_prefix(7);
  else if (s.find("://") != std::string_view::npos) {
    err = "not an http:// URL: " + std::string(text);
    return false;
  } else {
    out.text = "http://" + out.text;
  }
  auto slash = s.find('/');
  auto authority = s.substr(0, slash);
  if (slash != std::string_view::npos) out.prefix = std::string(s.substr(slash));
  if (authority.find('@') != std::string_view::npos) {
    err = "user info in URLs is not supported: " + std::string(text);
    return false;
  }
  std::string_view port;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      err = "bad IPv6 address in " + std::string(text);
      return false;
    }
    out.host = std::string(authority.substr(1, close - 1));
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') {
        err = "bad URL " + std::string(text);
        return false;
      }
      port = rest.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    err = "no host in URL '" + std::string(text) + "'";
    return false;
  }
  if (!port.empty() || authority.ends_with(":")) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || p != port.data() + port.size() || v == 0 || v > 65535) {
      err = "bad port in URL '" + std::string(text) + "'";
      return false;
    }
    out.port = static_cast<std::uint16_t>(v);
  }
  if (!valid_target(out.prefix)) {
    err = "bad path in URL '" + std::string(text) + "'";
    return false;
  }
  return true;
}

bool parse_error_body(std::string_view body, std::string& code, std::string& message) {
  if (body.empty() || body.size() > (1u << 20)) return false;
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (d.HasParseError() || !d.IsObject()) return false;
  auto e = d.FindMember("error");
  if (e == d.MemberEnd() || !e->value.IsObject()) return false;
  auto c = e->value.FindMember("code");
  if (c == e->value.MemberEnd() || !c->value.IsString()) return false;
  code.assign(c->value.GetString(), c->value.GetStringLength());
  auto m = e->value.FindMember("message");
  if (m != e->value.MemberEnd() && m->value.IsString())
    message.assign(m->value.GetString(), m->value.GetStringLength());
  return true;
}

std::string clip(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max)) + "...";
}

bool valid_group(std::string_view g) {
  if (g.empty() || g.size() > 128) return false;
  for (unsigned char c : g)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

bool valid_target(std::string_view t) {
  for (unsigned char c : t)
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace sg::client::detail
