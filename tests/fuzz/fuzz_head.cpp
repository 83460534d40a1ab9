// libFuzzer target: the strict head parser (parse_request_head, parse_response_head,
// check_field_lines), the framing decisions (request_framing, response_framing) and the
// chunked_reader.
//
// Input: [flags] [limit] [split seed] [trailer limit] then the bytes.
//   flags bit 0: a request (else an answer); bit 1: the answer is to a HEAD request;
//         bit 2: the bytes are a chunked body only (no head); bits 3-4: the limit's scale.
// Checked: views stay inside the header and keep the grammar, the facts gathered in the pass
// agree with a plain re-reading of the fields, a warm (reused) head parses as a fresh one, a
// prefix of a complete header needs more, the field lines pass check_field_lines, framing follows
// RFC 9112 §6.3 as framing.hpp documents it, and the chunked reader gives the same result fed at
// once or in pieces and reads back its own re-encoding.
#include "fuzz_common.hpp"
#include "http/framing.hpp"
#include "http/message_head.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

using namespace sg::http;

namespace {

char low(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}
bool same_ci(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (low(a[i]) != low(b[i])) return false;
  return true;
}
bool ows(char c) {
  return c == ' ' || c == '\t';
}
std::string_view trim(std::string_view v) {
  while (!v.empty() && ows(v.front())) v.remove_prefix(1);
  while (!v.empty() && ows(v.back())) v.remove_suffix(1);
  return v;
}
std::vector<std::string_view> list_items(std::string_view v) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= v.size(); ++i) {
    if (i == v.size() || v[i] == ',') {
      auto item = trim(v.substr(start, i - start));
      if (!item.empty()) out.push_back(item);
      start = i + 1;
    }
  }
  return out;
}
bool tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c && std::strchr("!#$%&'*+-.^_`|~", c));
}
bool field_text(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}
// A decimal number that fits 64 bits.
bool decimal(std::string_view s, uint64_t& n) {
  if (s.empty()) return false;
  n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  return true;
}

// The facts of a head, read again from its field list.
struct facts {
  unsigned content_lengths = 0, chunked_codings = 0, hosts = 0;
  bool conflict = false, has_te = false, final_chunked = false;
  bool have_length = false;
  uint64_t length = 0;
  bool close = false, keep_alive = false, upgrade_token = false, other = false;
  bool expect_continue = false, has_upgrade = false;
};

facts reread(const message_head& h) {
  facts f;
  for (auto& fl : h.fields) {
    if (same_ci(fl.name, "content-length")) {
      ++f.content_lengths;
      auto items = list_items(fl.value);
      if (items.empty()) f.conflict = true;
      for (auto item : items) {
        uint64_t n;
        if (!decimal(item, n)) {
          f.conflict = true;
        } else if (!f.have_length) {
          f.have_length = true;
          f.length = n;
        } else if (n != f.length) {
          f.conflict = true;
        }
      }
    } else if (same_ci(fl.name, "transfer-encoding")) {
      f.has_te = true;
      f.final_chunked = false;
      for (auto item : list_items(fl.value)) {
        auto coding = trim(item.substr(0, item.find(';')));
        f.final_chunked = same_ci(coding, "chunked");
        if (f.final_chunked) ++f.chunked_codings;
      }
    } else if (same_ci(fl.name, "host")) {
      ++f.hosts;
    } else if (same_ci(fl.name, "connection")) {
      for (auto t : list_items(fl.value)) {
        if (same_ci(t, "close"))
          f.close = true;
        else if (same_ci(t, "keep-alive"))
          f.keep_alive = true;
        else if (same_ci(t, "upgrade"))
          f.upgrade_token = true;
        else
          f.other = true;
      }
    } else if (same_ci(fl.name, "expect")) {
      if (same_ci(fl.value, "100-continue")) f.expect_continue = true;
    } else if (same_ci(fl.name, "upgrade")) {
      f.has_upgrade = true;
    }
  }
  return f;
}

bool inside(std::string_view v, std::string_view buf) {
  return v.empty() || (v.data() >= buf.data() && v.data() + v.size() <= buf.data() + buf.size());
}

void check_same(const message_head& a, const message_head& b) {
  FUZZ_CHECK(a.header_bytes == b.header_bytes);
  FUZZ_CHECK(a.fields.size() == b.fields.size());
  for (size_t i = 0; i < a.fields.size(); ++i) {
    FUZZ_CHECK(a.fields[i].name == b.fields[i].name);
    FUZZ_CHECK(a.fields[i].value == b.fields[i].value);
  }
  FUZZ_CHECK(a.version == b.version && a.method == b.method && a.target == b.target);
  FUZZ_CHECK(a.status == b.status && a.reason == b.reason);
  FUZZ_CHECK(a.content_lengths == b.content_lengths && a.length_conflict == b.length_conflict);
  FUZZ_CHECK(a.content_length == b.content_length && a.has_te == b.has_te);
  FUZZ_CHECK(a.chunked_codings == b.chunked_codings && a.te_final_chunked == b.te_final_chunked);
  FUZZ_CHECK(a.hosts == b.hosts && a.conn_close == b.conn_close);
  FUZZ_CHECK(a.conn_keep_alive == b.conn_keep_alive && a.conn_upgrade == b.conn_upgrade);
  FUZZ_CHECK(a.conn_other == b.conn_other && a.expect_continue == b.expect_continue);
  FUZZ_CHECK(a.has_upgrade == b.has_upgrade);
  FUZZ_CHECK((a.error == nullptr) == (b.error == nullptr));
  if (a.error) FUZZ_CHECK(std::strcmp(a.error, b.error) == 0);
}

void check_head(std::string_view buf, const message_head& h, bool request, size_t limit) {
  FUZZ_CHECK(h.header_bytes >= 4 && h.header_bytes <= buf.size() && h.header_bytes <= limit);
  auto head = buf.substr(0, h.header_bytes);
  FUZZ_CHECK(head.ends_with("\r\n\r\n"));
  FUZZ_CHECK(h.version == 10 || h.version == 11);
  // Every line ends in CRLF: no bare LF anywhere in the header.
  for (size_t i = 0; i < head.size(); ++i)
    if (head[i] == '\n') FUZZ_CHECK(i > 0 && head[i - 1] == '\r');
  if (request) {
    FUZZ_CHECK(is_token(h.method) && inside(h.method, head));
    FUZZ_CHECK(!h.target.empty() && inside(h.target, head));
    for (unsigned char c : h.target) FUZZ_CHECK(c > 0x20 && c < 0x7f);
  } else {
    FUZZ_CHECK(h.status >= 100 && h.status <= 999);
    FUZZ_CHECK(inside(h.reason, head));
    for (unsigned char c : h.reason) FUZZ_CHECK(field_text(c));
  }
  for (auto& f : h.fields) {
    FUZZ_CHECK(!f.name.empty() && inside(f.name, head) && inside(f.value, head));
    for (unsigned char c : f.name) FUZZ_CHECK(tchar(c));
    FUZZ_CHECK(is_token(f.name));
    for (unsigned char c : f.value) FUZZ_CHECK(field_text(c));
    FUZZ_CHECK(f.value.empty() || (!ows(f.value.front()) && !ows(f.value.back())));
  }
  FUZZ_CHECK(h.find("content-length").data() == nullptr || h.content_lengths > 0);

  // The facts, read again.
  auto f = reread(h);
  FUZZ_CHECK(f.content_lengths == h.content_lengths);
  FUZZ_CHECK(f.conflict == h.length_conflict);
  if (h.content_lengths && !h.length_conflict) FUZZ_CHECK(f.length == h.content_length);
  FUZZ_CHECK(f.has_te == h.has_te && f.chunked_codings == h.chunked_codings);
  FUZZ_CHECK(f.final_chunked == h.te_final_chunked);
  FUZZ_CHECK(f.hosts == h.hosts);
  FUZZ_CHECK(f.close == h.conn_close && f.keep_alive == h.conn_keep_alive);
  FUZZ_CHECK(f.upgrade_token == h.conn_upgrade && f.other == h.conn_other);
  FUZZ_CHECK(f.expect_continue == h.expect_continue && f.has_upgrade == h.has_upgrade);
  FUZZ_CHECK(h.keep_alive() == (h.version >= 11 ? !f.close : f.keep_alive && !f.close));

  // The field lines alone are what check_field_lines accepts, one field per line.
  size_t pos = 0;
  if (request)
    for (int i = 0; i < 4 && head.substr(pos, 2) == "\r\n"; ++i) pos += 2;
  auto start_end = head.find("\r\n", pos);
  FUZZ_CHECK(start_end != std::string_view::npos && start_end > pos);
  auto lines = head.substr(start_end + 2, head.size() - 2 - (start_end + 2));
  FUZZ_CHECK(check_field_lines(lines) == nullptr);
  size_t count = 0;
  for (size_t i = lines.find("\r\n"); i != std::string_view::npos; i = lines.find("\r\n", i + 2))
    ++count;
  FUZZ_CHECK(count == h.fields.size());
}

void check_framing(const message_head& h, bool request, bool head_request) {
  framing fr;
  if (request) {
    const char* err = request_framing(h, fr);
    if (h.has_te && h.content_lengths) FUZZ_CHECK(err);  // no smuggling by TE + CL
    if (h.content_lengths && h.length_conflict) FUZZ_CHECK(err);
    if (h.has_te && (h.version < 11 || !h.te_final_chunked || h.chunked_codings != 1))
      FUZZ_CHECK(err);
    if (err) return;
    FUZZ_CHECK(!fr.suspicious);
    switch (fr.kind) {
      case body_kind::chunked:
        FUZZ_CHECK(h.has_te && h.te_final_chunked && h.chunked_codings == 1);
        FUZZ_CHECK(!h.content_lengths && h.version == 11);
        break;
      case body_kind::length:
        FUZZ_CHECK(!h.has_te && h.content_lengths && !h.length_conflict);
        FUZZ_CHECK(fr.length == h.content_length && fr.length > 0);
        break;
      case body_kind::none:
        FUZZ_CHECK(!h.has_te && (!h.content_lengths || h.content_length == 0));
        break;
      case body_kind::until_close:
        FUZZ_CHECK(!"a request read until close");
    }
    return;
  }
  const char* err = response_framing(h, head_request, fr);
  if (h.has_te && (h.version < 11 || !h.te_final_chunked || h.chunked_codings != 1))
    FUZZ_CHECK(err);
  if (!h.has_te && h.content_lengths && h.length_conflict) FUZZ_CHECK(err);
  if (err) return;
  bool no_body = head_request || h.status < 200 || h.status == 204 || h.status == 304;
  if (no_body) {
    FUZZ_CHECK(fr.kind == body_kind::none);
    return;
  }
  switch (fr.kind) {
    case body_kind::chunked:
      FUZZ_CHECK(h.has_te && h.te_final_chunked && h.chunked_codings == 1);
      FUZZ_CHECK(fr.suspicious == (h.content_lengths > 0));
      break;
    case body_kind::length:
      FUZZ_CHECK(!h.has_te && h.content_lengths && !h.length_conflict);
      FUZZ_CHECK(fr.length == h.content_length && fr.length > 0 && !fr.suspicious);
      break;
    case body_kind::none:
      FUZZ_CHECK(!h.has_te && h.content_lengths && h.content_length == 0);
      break;
    case body_kind::until_close:
      FUZZ_CHECK(!h.has_te && !h.content_lengths);
      break;
  }
}

uint32_t next(uint32_t& s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

void check_chunked(std::string_view body, uint8_t seed, size_t trailer_limit) {
  auto whole = fuzz::decode_chunked(body, trailer_limit);
  FUZZ_CHECK(whole.consumed <= body.size());
  if (!whole.done && !whole.error) FUZZ_CHECK(whole.consumed == body.size());

  // The same bytes in pieces (with empty feeds in between).
  chunked_reader r(trailer_limit);
  std::string data;
  size_t consumed = 0;
  uint32_t s = 0x9e3779b9u ^ seed;
  std::string_view rest = body;
  while (!r.done() && !r.error()) {
    size_t n = seed == 0 ? 1 : next(s) % 9;  // 0 .. 8 bytes, or byte by byte
    n = std::min(n, rest.size());
    size_t c = r.feed(rest.substr(0, n), [&](std::string_view v) {
      FUZZ_CHECK(!v.empty());
      data.append(v);
    });
    FUZZ_CHECK(c <= n);
    if (!r.done() && !r.error()) FUZZ_CHECK(c == n);
    consumed += c;
    rest.remove_prefix(c);
    if (rest.empty()) break;
  }
  FUZZ_CHECK(consumed == whole.consumed);
  FUZZ_CHECK(data == whole.data);
  FUZZ_CHECK(r.done() == whole.done);
  FUZZ_CHECK(r.error() == whole.error);
  if (!whole.done || whole.error) return;  // a bad trailer section ends done() and error()
  FUZZ_CHECK(std::string(r.trailers()) == whole.trailers);
  FUZZ_CHECK(check_field_lines(whole.trailers) == nullptr);
  FUZZ_CHECK(whole.trailers.size() <= trailer_limit + 2);
  FUZZ_CHECK(whole.consumed >= 5 && body.substr(0, whole.consumed).ends_with("\r\n"));
  // A finished reader takes nothing more.
  FUZZ_CHECK(r.feed("0\r\n\r\n", [](std::string_view) { FUZZ_CHECK(!"data after the end"); }) == 0);

  // The writer's coding of the same data reads back to the same data and trailers, in full.
  auto again = fuzz::encode_chunked(whole.data, 1 + seed, whole.trailers);
  auto back = fuzz::decode_chunked(again, trailer_limit);
  FUZZ_CHECK(back.done && !back.error && back.consumed == again.size());
  FUZZ_CHECK(back.data == whole.data && back.trailers == whole.trailers);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::input in{data, size};
  uint8_t flags = in.byte();
  uint8_t limit_byte = in.byte();
  uint8_t seed = in.byte();
  uint8_t trailer_byte = in.byte();
  std::string_view buf = in.rest();
  bool request = flags & 1, head_request = flags & 2, body_only = flags & 4;
  size_t trailer_limit = trailer_byte ? trailer_byte * 4u : 64 * 1024;
  if (body_only) {
    check_chunked(buf, seed, trailer_limit);
    return 0;
  }
  // The limit: 64 KiB (the default), or small enough for inputs to reach it.
  size_t limit = 64 * 1024;
  switch ((flags >> 3) & 3) {
    case 1: limit = limit_byte; break;
    case 2: limit = 16u * limit_byte; break;
    default: break;
  }

  // A copy of its own: views into it are checked against its bounds by ASan.
  std::string copy(buf);
  static message_head warm;  // reused across inputs, as the proxy reuses its heads
  message_head fresh;
  auto parse = request ? parse_request_head : parse_response_head;
  auto r = parse(copy, warm, limit);
  FUZZ_CHECK(parse(copy, fresh, limit) == r);
  check_same(warm, fresh);

  switch (r) {
    case head_result::invalid:
      FUZZ_CHECK(warm.error != nullptr);
      {  // More bytes do not make an invalid header valid.
        message_head more;
        auto longer = copy + "\r\n\r\n";
        FUZZ_CHECK(parse(longer, more, limit + 4) == head_result::invalid);
      }
      break;
    case head_result::too_large:
      FUZZ_CHECK(copy.size() >= limit);
      break;
    case head_result::need_more:
      FUZZ_CHECK(copy.size() < limit);
      break;
    case head_result::complete: {
      FUZZ_CHECK(warm.error == nullptr);
      check_head(copy, warm, request, limit);
      // Any shorter part of a complete header needs more.
      for (size_t k : {warm.header_bytes - 1, warm.header_bytes * seed / 256}) {
        message_head part;
        FUZZ_CHECK(parse(std::string_view(copy).substr(0, k), part, limit) ==
                   head_result::need_more);
      }
      check_framing(warm, request, head_request);
      check_chunked(std::string_view(copy).substr(warm.header_bytes), seed, trailer_limit);
      break;
    }
  }
  return 0;
}
