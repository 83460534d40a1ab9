#include "http/message_head.hpp"

#include <array>
#include <charconv>
#include <cstring>

namespace sg::http {

namespace {

using result = head_result;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Byte classes, one table lookup per byte: RFC 9110 §5.6.2 tchar for names; HTAB, SP, VCHAR and
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

// "HTTP/1.0" or "HTTP/1.1" as 10 or 11; 0 for anything else.
unsigned read_version(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1.") return 0;
  return v[7] == '1' ? 11 : v[7] == '0' ? 10 : 0;
}

// Every value of every Content-Length field must be the same number (RFC 9110 §8.6: "2, 2" is
// one length; "2, 3" or "x" is a conflict the caller refuses).
void read_content_length(std::string_view value, message_head& h) {
  bool first_field = h.content_lengths++ == 0;
  bool seen = false;
  for_each_list_item(value, [&](std::string_view item) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
    // from_chars takes a leading '-': digits only.
    if (ec != std::errc{} || p != item.data() + item.size() || item.front() == '-')
      h.length_conflict = true;
    else if (first_field && !seen)
      h.content_length = n;
    else if (n != h.content_length)
      h.length_conflict = true;
    seen = true;
  });
  if (!seen) h.length_conflict = true;  // an empty value
}

// Transfer-Encoding's codings. Only chunked is implemented: another one is noted (the caller
// refuses it), and an element that is not a token (a quote, "chunked a", chunked with
// parameters) is malformed, so that sgd never frames a message differently from a parser that
// reads such elements another way.
void read_transfer_encoding(std::string_view value, message_head& h) {
  h.has_te = true;
  bool last = false;
  for_each_list_item(value, [&](std::string_view item) {
    auto coding = trim_ows(item.substr(0, item.find(';')));
    last = iequals(coding, "chunked");
    if (!is_token(coding) || (last && coding.size() != item.size())) h.te_malformed = true;
    if (last)
      ++h.chunked_codings;
    else
      h.te_other = true;
  });
  h.te_final_chunked = last;  // an empty field names no coding: not chunked
}

void read_connection(std::string_view value, message_head& h) {
  for_each_list_item(value, [&](std::string_view t) {
    if (iequals(t, "close"))
      h.conn_close = true;
    else if (iequals(t, "keep-alive"))
      h.conn_keep_alive = true;
    else if (iequals(t, "upgrade"))
      h.conn_upgrade = true;
    else
      h.conn_other = true;
  });
}

// One field line (without its CRLF); nullptr or what is wrong.
const char* read_field(std::string_view line, message_head* h) {
  if (line.front() == ' ' || line.front() == '\t') return "obsolete line folding in a header";
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return "a header line without a colon";
  auto name = line.substr(0, colon);
  if (name.empty() || !all_of_class(name, k_tchar))
    return "invalid header field name (whitespace before the colon?)";
  auto value = trim_ows(line.substr(colon + 1));
  if (!all_of_class(value, k_text)) return "invalid byte in a header field value";
  if (!h) return nullptr;
  switch (name.size()) {
    case 4:
      if (iequals(name, "host")) ++h->hosts;
      break;
    case 6:
      if (iequals(name, "expect") && iequals(value, "100-continue")) h->expect_continue = true;
      break;
    case 7:
      if (iequals(name, "upgrade")) h->has_upgrade = true;
      break;
    case 10:
      if (iequals(name, "connection")) read_connection(value, *h);
      break;
    case 14:
      if (iequals(name, "content-length")) read_content_length(value, *h);
      break;
    case 17:
      if (iequals(name, "transfer-encoding")) read_transfer_encoding(value, *h);
      break;
    default:
      break;
  }
  h->fields.push_back({name, value});
  return nullptr;
}

const char* read_request_line(std::string_view line, message_head& h) {
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp2 == sp1 || sp2 == sp1 + 1)
    return "malformed request line";
  h.method = line.substr(0, sp1);
  h.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!all_of_class(h.method, k_tchar)) return "invalid method";
  for (unsigned char c : h.target)
    if (c <= 0x20 || c >= 0x7f) return "invalid byte in the request target";
  h.version = read_version(line.substr(sp2 + 1));
  if (!h.version) return "unsupported HTTP version (HTTP/1.0 and HTTP/1.1 are served)";
  return nullptr;
}

const char* read_status_line(std::string_view line, message_head& h) {
  // HTTP/1.x SP 3DIGIT SP reason; an empty reason may come without its space.
  if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' '))
    return "malformed status line";
  h.version = read_version(line.substr(0, 8));
  if (!h.version) return "unsupported HTTP version in the status line";
  h.status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return "malformed status code";
    h.status = h.status * 10 + static_cast<unsigned>(line[i] - '0');
  }
  if (h.status < 100) return "malformed status code";
  h.reason = line.size() > 12 ? line.substr(13) : std::string_view{};
  if (!all_of_class(h.reason, k_text)) return "invalid byte in the reason phrase";
  return nullptr;
}

void reset(message_head& h) {
  auto fields = std::move(h.fields);
  fields.clear();
  h = message_head{};
  h.fields = std::move(fields);
}

// The common scan: lines end in CRLF (a bare LF is refused as soon as it is seen), the first
// line is the start line, an empty line ends the header.
template <class StartLine>
result parse_head(std::string_view buf, message_head& h, size_t limit, bool request,
                  StartLine start_line) {
  reset(h);
  size_t pos = 0;
  if (request)  // RFC 9112 §2.2: ignore empty lines before the request line (a few)
    for (int i = 0; i < 4 && buf.substr(pos, 2) == "\r\n"; ++i) pos += 2;
  size_t scan_end = std::min(buf.size(), limit);
  bool first = true;
  while (pos < scan_end) {
    auto* nl = static_cast<const char*>(std::memchr(buf.data() + pos, '\n', scan_end - pos));
    if (!nl) break;
    size_t at = static_cast<size_t>(nl - buf.data());
    if (at == pos || buf[at - 1] != '\r') {
      h.error = "a line ends in a bare LF (CRLF required)";
      return result::invalid;
    }
    auto line = buf.substr(pos, at - 1 - pos);
    pos = at + 1;
    if (first) {
      if (line.empty() || (h.error = start_line(line, h))) {
        if (!h.error) h.error = "empty start line";
        return result::invalid;
      }
      first = false;
      continue;
    }
    if (line.empty()) {
      h.header_bytes = pos;
      return result::complete;
    }
    if ((h.error = read_field(line, &h))) return result::invalid;
  }
  if (buf.size() >= limit) {
    h.error = "header larger than the limit";
    return result::too_large;
  }
  return result::need_more;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_token(std::string_view s) {
  return !s.empty() && all_of_class(s, k_tchar);
}

std::string_view message_head::find(std::string_view name) const {
  for (auto& f : fields)
    if (iequals(f.name, name)) return f.value;
  return {};
}

head_result parse_request_head(std::string_view buf, message_head& out, size_t limit) {
  return parse_head(buf, out, limit, true, read_request_line);
}

head_result parse_response_head(std::string_view buf, message_head& out, size_t limit) {
  return parse_head(buf, out, limit, false, read_status_line);
}

const char* check_field_lines(std::string_view buf) {
  while (!buf.empty()) {
    auto eol = buf.find("\r\n");
    if (eol == std::string_view::npos || eol == 0) return "malformed trailer section";
    auto line = buf.substr(0, eol);
    if (line.find('\n') != std::string_view::npos) return "a bare LF in the trailer section";
    if (auto err = read_field(line, nullptr)) return err;
    buf.remove_prefix(eol + 2);
  }
  return nullptr;
}

}  // namespace sg::http
