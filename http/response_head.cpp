#include "http/response_head.hpp"

#include <charconv>

namespace sg::http {

namespace {

using result = response_head::result;

bool iequals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Byte classes, one table lookup per byte: RFC 9110 5.6.2 tchar for names; HTAB, SP, VCHAR and
// obs-text for values and reason phrases.
constexpr unsigned char k_tchar = 1, k_text = 2;
constexpr std::array<unsigned char, 256> byte_classes = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0x20; c < 0x100; ++c)
    if (c != 0x7f) t[c] = k_text;
  t['\t'] = k_text;
  for (int c = '0'; c <= '9'; ++c) t[c] |= k_tchar;
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= k_tchar;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= k_tchar;
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) t[c] |= k_tchar;
  return t;
}();

bool all_of_class(std::string_view s, unsigned char cls) {
  for (unsigned char c : s)
    if (!(byte_classes[c] & cls)) return false;
  return true;
}

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Connection's tokens: only close and keep-alive keep the answer simple (others name fields to
// drop, which Beast's path handles).
bool read_connection(std::string_view v, bool& close, bool& keep_alive) {
  while (!v.empty()) {
    auto comma = v.find(',');
    auto token = trim_ows(v.substr(0, comma));
    v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    if (token.empty()) continue;
    if (iequals(token, "close"))
      close = true;
    else if (iequals(token, "keep-alive"))
      keep_alive = true;
    else
      return false;
  }
  return true;
}

}  // namespace

bool hop_by_hop(std::string_view n) {
  switch (n.size()) {
    case 2:
      return iequals(n, "te");
    case 7:
      return iequals(n, "trailer") || iequals(n, "upgrade");
    case 10:
      return iequals(n, "connection") || iequals(n, "keep-alive");
    case 16:
      return iequals(n, "proxy-connection");
    case 18:
      return iequals(n, "proxy-authenticate");
    case 19:
      return iequals(n, "proxy-authorization");
    default:
      return false;
  }
}

response_head::result parse_response_head(std::string_view buf, response_head& out, size_t limit) {
  auto end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return buf.size() >= limit ? result::other : result::need_more;
  if (end + 4 > limit) return result::other;
  out.header_bytes = end + 4;
  std::string_view head = buf.substr(0, end + 2);  // every line ends with CRLF

  // Status line: HTTP/1.x SP 3DIGIT SP reason CRLF
  auto eol = head.find("\r\n");
  auto line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  if (line.size() < 13 || line.substr(0, 7) != "HTTP/1." || (line[7] != '0' && line[7] != '1') ||
      line[8] != ' ' || line[12] != ' ')
    return result::other;
  out.version = line[7] == '1' ? 11 : 10;
  unsigned status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return result::other;
    status = status * 10 + static_cast<unsigned>(line[i] - '0');
  }
  // Interim, bodiless-by-status and protocol-switching answers take Beast's path.
  if (status < 200 || status > 599 || status == 204 || status == 304) return result::other;
  out.status = status;
  out.reason = line.substr(13);
  if (!all_of_class(out.reason, k_text)) return result::other;

  bool has_length = false, close = false, keep_alive_token = false;
  out.count = 0;
  while (!head.empty()) {
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return result::other;  // and obs-fold
    auto name = line.substr(0, colon);
    auto value = trim_ows(line.substr(colon + 1));
    if (!all_of_class(name, k_tchar) || !all_of_class(value, k_text)) return result::other;
    if (iequals(name, "content-length")) {
      if (has_length || value.empty() || value.size() > 18) return result::other;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out.content_length);
      if (ec != std::errc{} || p != value.data() + value.size()) return result::other;
      has_length = true;
    } else if (iequals(name, "transfer-encoding")) {
      return result::other;
    } else if (iequals(name, "connection")) {
      if (!read_connection(value, close, keep_alive_token)) return result::other;
    }
    if (out.count == response_head::max_fields) return result::other;
    out.fields[out.count++] = {name, value};
  }
  if (!has_length) return result::other;
  out.keep_alive = out.version >= 11 ? !close : keep_alive_token && !close;
  return result::simple;
}

void append_status_line(std::string& out, unsigned version, unsigned status,
                        std::string_view reason) {
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
  char code[8];
  auto [end, ec] = std::to_chars(code, code + sizeof code, status);
  (void)ec;
  out.append(code, end);
  out += ' ';
  out.append(reason.data(), reason.size());
  out.append("\r\n", 2);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name.data(), name.size());
  out.append(": ", 2);
  out.append(value.data(), value.size());
  out.append("\r\n", 2);
}

void write_response_head(const response_head& h, unsigned client_version, bool keep,
                         std::string& out) {
  out.clear();
  append_status_line(out, client_version, h.status, h.reason);
  for (size_t i = 0; i < h.count; ++i)
    if (!hop_by_hop(h.fields[i].first)) append_field(out, h.fields[i].first, h.fields[i].second);
  if (keep != (client_version >= 11))
    append_field(out, "Connection", keep ? "keep-alive" : "close");
  out.append("\r\n", 2);
}

}  // namespace sg::http
