#include "http/request_target.hpp"

#include <array>

namespace sg::http {

namespace {

// RFC 3986 pchar without pct-encoded, plus '/' and '?' (path and query).
constexpr std::array<bool, 256> target_bytes = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (unsigned char c : std::string_view("-._~!$&'()*+,;=:@/?")) t[c] = true;
  return t;
}();

bool hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

const char* check_bytes(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (target_bytes[c]) continue;
    if (c == '%' && i + 2 < s.size() && hex(s[i + 1]) && hex(s[i + 2])) {
      i += 2;
      continue;
    }
    if (c == '%') return "malformed percent-encoding in the request target";
    if (c == '#') return "a fragment ('#') in the request target";
    return "a byte outside RFC 3986 in the request target";
  }
  return nullptr;
}

bool starts_with_scheme(std::string_view t, std::string_view scheme) {
  if (t.size() < scheme.size()) return false;
  for (size_t i = 0; i < scheme.size(); ++i)
    if ((t[i] | 0x20) != scheme[i]) return false;  // letters in any case; ':' and '/' as they are
  return true;
}

// A segment "." or ".." somewhere in `path` (which starts with '/').
bool has_dot_segment(std::string_view path) {
  for (size_t i = path.find("/."); i != std::string_view::npos; i = path.find("/.", i + 1)) {
    auto seg = path.substr(i + 1, path.find('/', i + 1) - i - 1);
    if (seg == "." || seg == "..") return true;
  }
  return false;
}

// RFC 3986 §5.2.4 on `path` ("" or starting with '/'), refusing to climb above its root.
bool remove_dot_segments(std::string_view path, std::string& out) {
  out.clear();
  if (!has_dot_segment(path)) {
    out.assign(path);
    return true;
  }
  // Segments after the leading '/'; a trailing "." or ".." leaves a trailing slash.
  std::string_view in = path.substr(1);
  for (;;) {
    auto slash = in.find('/');
    auto seg = in.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (seg == ".") {
      if (last) out += '/';
    } else if (seg == "..") {
      if (out.empty()) return false;
      out.resize(out.rfind('/'));
      if (last) out += '/';
    } else {
      out += '/';
      out.append(seg);
    }
    if (last) break;
    in.remove_prefix(slash + 1);
  }
  return true;
}

}  // namespace

target_result parse_target(std::string_view target, route_target& out, const char*& error) {
  out.group = out.authority = {};
  out.rest.clear();  // keeps its capacity: no allocation per request once warm
  std::string_view path = target;
  if (starts_with_scheme(target, "http://") || starts_with_scheme(target, "https://")) {
    // Absolute-form (RFC 9112 §3.2.2): its authority stands for Host.
    auto after = target.substr(target.find("//") + 2);
    auto end = after.find_first_of("/?");
    out.authority = after.substr(0, end);
    if (out.authority.empty() || !valid_host(out.authority)) {  // it stands for Host
      error = "invalid authority in an absolute-form request target";
      return target_result::invalid;
    }
    path = end == std::string_view::npos ? std::string_view("/") : after.substr(end);
    if (path.front() == '?') {
      error = "absolute-form request target without a path";
      return target_result::invalid;
    }
  } else if (target == "*") {
    return target_result::not_routed;
  } else if (target.empty() || target.front() != '/') {
    error = "the request target must be origin-form (/path) or absolute-form (http://host/path)";
    return target_result::invalid;
  }
  if ((error = check_bytes(path))) return target_result::invalid;
  constexpr std::string_view prefix = "/groups/";
  if (!path.starts_with(prefix)) return target_result::not_routed;
  auto q = path.find('?');
  auto query = q == std::string_view::npos ? std::string_view{} : path.substr(q);
  auto p = path.substr(prefix.size(), q == std::string_view::npos ? q : q - prefix.size());
  auto slash = p.find('/');
  out.group = p.substr(0, slash);
  if (out.group.empty()) return target_result::not_routed;
  if (out.group == "." || out.group == "..") {
    error = "the request target climbs above /groups/";
    return target_result::invalid;
  }
  auto rest = slash == std::string_view::npos ? std::string_view{} : p.substr(slash);
  if (!remove_dot_segments(rest, out.rest)) {
    error = "the request target climbs above the group's root";
    return target_result::invalid;
  }
  out.rest.append(query);
  return target_result::routed;
}

bool valid_host(std::string_view host) {
  for (unsigned char c : host)
    if (!(target_bytes[c] || c == '[' || c == ']' || c == '%') || c == '/' || c == '?' || c == '@')
      return false;
  return true;
}

void upstream_target(const url_parts& base, std::string_view rest, std::string& out) {
  std::string_view t = base.path;
  t = t.substr(0, t.find('?'));  // a query in baseUrl is dropped
  while (!t.empty() && t.back() == '/') t.remove_suffix(1);
  out.assign(t);
  if (rest.empty() || rest.front() == '?') out += '/';
  out.append(rest);
}

}  // namespace sg::http
