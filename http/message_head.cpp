#include "http/message_head.hpp"

#include <charconv>

namespace sg::http {

namespace {

using result = head_result;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Case-insensitive (ASCII) equality; `lowered` is already lower case.
bool iequals(std::string_view a, std::string_view lowered) {
  if (a.size() != lowered.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lowered[i]) return false;
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

// Connection's tokens: only close and keep-alive keep a message simple (others name fields to
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

// The header's extent: need_more, other (over the limit) or simple with `head` the lines after
// the start line, each ending with CRLF, and `start` the start line.
result split_head(std::string_view buf, size_t limit, head_fields& out, std::string_view& start,
                  std::string_view& head) {
  auto end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return buf.size() >= limit ? result::other : result::need_more;
  if (end + 4 > limit) return result::other;
  out.header_bytes = end + 4;
  head = buf.substr(0, end + 2);
  auto eol = head.find("\r\n");
  start = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  return result::simple;
}

// What the fields say about framing and the connection.
struct field_facts {
  bool has_length = false;
  uint64_t length = 0;
  bool close = false;
  bool keep_alive_token = false;
};

// Reads the field lines into `out`; false when a line is not simple (see the header).
bool read_fields(std::string_view head, head_fields& out, field_facts& facts) {
  out.count = 0;
  while (!head.empty()) {
    auto eol = head.find("\r\n");
    auto line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;  // and obs-fold
    auto name = line.substr(0, colon);
    auto value = trim_ows(line.substr(colon + 1));
    if (!all_of_class(name, k_tchar) || !all_of_class(value, k_text)) return false;
    if (iequals(name, "content-length")) {
      if (facts.has_length || value.empty() || value.size() > 18) return false;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), facts.length);
      if (ec != std::errc{} || p != value.data() + value.size()) return false;
      facts.has_length = true;
    } else if (iequals(name, "transfer-encoding") || iequals(name, "expect")) {
      return false;
    } else if (iequals(name, "connection")) {
      if (!read_connection(value, facts.close, facts.keep_alive_token)) return false;
    }
    if (out.count == head_fields::max_fields) return false;
    out.fields[out.count++] = {name, value};
  }
  return true;
}

// "HTTP/1.0" or "HTTP/1.1" as 10 or 11; 0 for anything else.
unsigned read_version(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1.") return 0;
  return v[7] == '1' ? 11 : v[7] == '0' ? 10 : 0;
}

bool keep_alive(unsigned version, const field_facts& f) {
  return version >= 11 ? !f.close : f.keep_alive_token && !f.close;
}

}  // namespace

std::string_view head_fields::find(std::string_view name) const {
  for (size_t i = 0; i < count; ++i) {
    auto n = fields[i].first;
    if (n.size() != name.size()) continue;
    size_t j = 0;
    while (j < n.size() && lower(n[j]) == lower(name[j])) ++j;
    if (j == n.size()) return fields[i].second;
  }
  return {};
}

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

head_result parse_response_head(std::string_view buf, response_head& out, size_t limit) {
  std::string_view line, head;
  if (auto r = split_head(buf, limit, out, line, head); r != result::simple) return r;
  // Status line: HTTP/1.x SP 3DIGIT SP reason
  if (line.size() < 13 || line[8] != ' ' || line[12] != ' ') return result::other;
  out.version = read_version(line.substr(0, 8));
  if (!out.version) return result::other;
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
  field_facts facts;
  if (!read_fields(head, out, facts) || !facts.has_length) return result::other;
  out.content_length = facts.length;
  out.keep_alive = keep_alive(out.version, facts);
  return result::simple;
}

head_result parse_request_head(std::string_view buf, request_head& out, size_t limit) {
  std::string_view line, head;
  if (auto r = split_head(buf, limit, out, line, head); r != result::simple) return r;
  // Request line: method SP target SP HTTP/1.x
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == 0 || sp1 == std::string_view::npos || sp2 == sp1 || sp2 == sp1 + 1)
    return result::other;
  out.method = line.substr(0, sp1);
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  out.version = read_version(line.substr(sp2 + 1));
  if (!out.version || !all_of_class(out.method, k_tchar)) return result::other;
  for (unsigned char c : out.target)
    if (c <= 0x20 || c >= 0x7f) return result::other;
  field_facts facts;
  // A body (any length but 0) takes Beast's path, which streams it.
  if (!read_fields(head, out, facts) || facts.length != 0) return result::other;
  out.keep_alive = keep_alive(out.version, facts);
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

void write_request_head(const request_head& h, std::string_view target, std::string_view host,
                        std::string_view client_ip, std::string& out) {
  out.clear();
  out.append(h.method.data(), h.method.size());
  out += ' ';
  out.append(target.data(), target.size());
  out.append(" HTTP/1.1\r\n", 11);
  std::string_view xff, client_host;
  for (size_t i = 0; i < h.count; ++i) {
    auto [name, value] = h.fields[i];
    if (hop_by_hop(name)) continue;
    if (name.size() == 4 && iequals(name, "host")) {
      if (client_host.empty()) client_host = value;
      continue;
    }
    if (name.size() >= 15 && name.size() <= 17 && iequals(name.substr(0, 12), "x-forwarded-")) {
      auto rest = name.substr(12);
      if (iequals(rest, "for")) {
        if (xff.empty()) xff = value;
        continue;
      }
      if (iequals(rest, "proto") || iequals(rest, "host")) continue;
    }
    append_field(out, name, value);
  }
  append_field(out, "Host", host);
  out.append("X-Forwarded-For: ", 17);
  if (!xff.empty()) {
    out.append(xff.data(), xff.size());
    out.append(", ", 2);
  }
  out.append(client_ip.data(), client_ip.size());
  out.append("\r\n", 2);
  append_field(out, "X-Forwarded-Proto", "http");
  if (!client_host.empty()) append_field(out, "X-Forwarded-Host", client_host);
  out.append("\r\n", 2);
}

}  // namespace sg::http
