#include "http/header_policy.hpp"

#include <charconv>

namespace sg::http {

namespace {

// Named in one of the message's Connection fields (only looked at when one names a field).
bool named_in_connection(const message_head& h, std::string_view name) {
  bool named = false;
  for (auto& f : h.fields)
    if (f.name.size() == 10 && iequals(f.name, "connection"))
      for_each_list_item(f.value, [&](std::string_view t) { named |= iequals(t, name); });
  return named;
}

// What is never copied from the received header, in either direction.
bool dropped(const message_head& h, std::string_view name) {
  if (hop_by_hop(name)) return true;
  if ((name.size() == 14 && iequals(name, "content-length")) ||
      (name.size() == 17 && iequals(name, "transfer-encoding")) ||
      (name.size() == 3 && iequals(name, "via")))
    return true;
  return h.conn_other && named_in_connection(h, name);
}

void append_body_field(std::string& out, const body_field& b) {
  if (b.kind == body_field::content_length) {
    char num[24];
    auto [end, ec] = std::to_chars(num, num + sizeof num, b.length);
    (void)ec;
    append_field(out, "Content-Length", std::string_view(num, static_cast<size_t>(end - num)));
  } else if (b.kind == body_field::chunked) {
    append_field(out, "Transfer-Encoding", "chunked");
  }
}

// Via: what the message carried, then this hop (RFC 9110 §7.6.3).
void append_via(std::string& out, const message_head& h, unsigned version, std::string_view via) {
  if (via.empty()) return;
  out.append("Via: ", 5);
  for (auto& f : h.fields)
    if (f.name.size() == 3 && iequals(f.name, "via") && !f.value.empty()) {
      out.append(f.value);
      out.append(", ", 2);
    }
  out.append(version == 10 ? "1.0 " : "1.1 ", 4);
  out.append(via);
  out.append("\r\n", 2);
}

void append_upgrade(std::string& out, const message_head& h) {
  append_field(out, "Connection", "upgrade");
  append_field(out, "Upgrade", h.find("upgrade"));
}

}  // namespace

bool hop_by_hop(std::string_view n) {
  // Trailer is not one (RFC 9110 §6.6.2): it announces the trailers, which are forwarded.
  switch (n.size()) {
    case 2:
      return iequals(n, "te");
    case 7:
      return iequals(n, "upgrade");
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

bool via_names(const message_head& h, std::string_view pseudonym) {
  // Entries: received-protocol RWS received-by [RWS comment], split at commas outside comments
  // (a comment may hold commas, RFC 9110 §5.6.5).
  auto names = [&](std::string_view entry) {
    auto sp = entry.find_first_of(" \t");
    auto start = entry.find_first_not_of(" \t", sp);
    if (start == std::string_view::npos) return false;
    auto by = entry.substr(start);
    return by.substr(0, by.find_first_of(" \t")) == pseudonym;
  };
  for (auto& f : h.fields) {
    if (f.name.size() != 3 || !iequals(f.name, "via")) continue;
    auto v = f.value;
    int depth = 0;
    size_t from = 0;
    for (size_t i = 0; i <= v.size(); ++i) {
      char c = i < v.size() ? v[i] : ',';
      if (c == '\\' && depth && i + 1 < v.size()) {
        ++i;  // quoted-pair inside a comment
      } else if (c == '(') {
        ++depth;
      } else if (c == ')' && depth) {
        --depth;
      } else if (c == ',' && (!depth || i == v.size())) {
        auto entry = v.substr(from, i - from);
        auto b = entry.find_first_not_of(" \t");
        if (b != std::string_view::npos && names(entry.substr(b))) return true;
        from = i + 1;
      }
    }
  }
  return false;
}

void write_request_head(const message_head& h, const request_rewrite& r, std::string& out) {
  out.clear();
  out.append(h.method);
  out += ' ';
  out.append(r.target);
  out.append(" HTTP/1.1\r\n", 11);
  append_field(out, "Host", r.host);
  bool xff = false;
  for (auto& f : h.fields) {
    auto name = f.name;
    if (dropped(h, name)) continue;
    if ((name.size() == 4 && iequals(name, "host")) ||
        (name.size() == 6 && iequals(name, "expect")))
      continue;
    if (name.size() >= 15 && name.size() <= 17 && iequals(name.substr(0, 12), "x-forwarded-")) {
      auto rest = name.substr(12);
      if (iequals(rest, "for")) {
        xff = true;
        continue;
      }
      if (iequals(rest, "proto") || iequals(rest, "host")) continue;
    }
    if (name.size() == 12 && iequals(name, "max-forwards")) {
      // RFC 9110 §7.6.2: one hop less (0 is answered by the caller, never forwarded).
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(f.value.data(), f.value.data() + f.value.size(), n);
      if (ec == std::errc{} && p == f.value.data() + f.value.size() && n > 0) {
        append_field(out, name, std::to_string(n - 1));
        continue;
      }
    }
    append_field(out, name, f.value);
  }
  append_body_field(out, r.body);
  out.append("X-Forwarded-For: ", 17);
  if (xff)  // every earlier hop, from every X-Forwarded-For field, in order
    for (auto& f : h.fields)
      if (f.name.size() == 15 && iequals(f.name, "x-forwarded-for") && !f.value.empty()) {
        out.append(f.value);
        out.append(", ", 2);
      }
  out.append(r.client_ip);
  out.append("\r\n", 2);
  append_field(out, "X-Forwarded-Proto", "http");
  if (!r.client_host.empty()) append_field(out, "X-Forwarded-Host", r.client_host);
  append_via(out, h, h.version, r.via);
  if (r.upgrade) append_upgrade(out, h);
  out.append("\r\n", 2);
}

void write_response_head(const message_head& h, const response_rewrite& r, std::string& out) {
  out.clear();
  append_status_line(out, r.client_version, h.status, h.reason);
  for (auto& f : h.fields)
    if (!dropped(h, f.name)) append_field(out, f.name, f.value);
  append_body_field(out, r.body);
  append_via(out, h, h.version, r.via);
  if (r.upgrade)
    append_upgrade(out, h);
  else if (h.status >= 200 && r.keep_alive != (r.client_version >= 11))
    append_field(out, "Connection", r.keep_alive ? "keep-alive" : "close");
  out.append("\r\n", 2);
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

}  // namespace sg::http
