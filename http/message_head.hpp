#pragma once
// A strict, allocation-free look at HTTP/1.x headers for the proxy's common cases: a request
// without a body, and a final answer framed by one Content-Length. Beast's parser spends
// thousands of instructions on a five-field header (field table lookups, a tree insert per
// field); this reads the bytes once and keeps views into them. Anything else (bodies other than
// a whole Content-Length answer, 1xx/204/304/101, Expect, Connection naming other fields,
// obs-fold, odd characters, more than max_fields fields) is `other` and goes through Beast's
// parser, which also produces the errors for malformed headers.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace sg::http {

enum class head_result { simple, need_more, other };

struct head_fields {
  static constexpr size_t max_fields = 32;
  size_t header_bytes = 0;  // through the blank line: a body starts there
  size_t count = 0;
  std::array<std::pair<std::string_view, std::string_view>, max_fields> fields;
  bool keep_alive = true;  // what the version and Connection say

  // The first field named `name` (any case); "" when there is none.
  std::string_view find(std::string_view name) const;
};

struct response_head : head_fields {
  unsigned version = 11;  // 10 or 11
  unsigned status = 0;
  std::string_view reason;
  uint64_t content_length = 0;
};

struct request_head : head_fields {
  std::string_view method;
  std::string_view target;
  unsigned version = 11;
};

// Parse the header at the start of `buf` (views point into it). need_more: no blank line yet
// within `limit` bytes; past the limit, `other` (Beast reports header_limit).
head_result parse_response_head(std::string_view buf, response_head& out, size_t limit);
head_result parse_request_head(std::string_view buf, request_head& out, size_t limit);

// RFC 9110 7.6.1: fields meant for one connection only (case-insensitive name).
bool hop_by_hop(std::string_view name);

// "HTTP/1.x code reason\r\n" and "name: value\r\n", appended.
void append_status_line(std::string& out, unsigned version, unsigned status,
                        std::string_view reason);
void append_field(std::string& out, std::string_view name, std::string_view value);

// The header the client gets for a simple answer: the node's fields without hop-by-hop ones, the
// client's version, and a Connection field only where `keep` differs from that version's default.
void write_response_head(const response_head& h, unsigned client_version, bool keep,
                         std::string& out);

// The header a node gets for a simple request: HTTP/1.1 (keep-alive) to `target`, the client's
// fields without hop-by-hop ones, Host `host`, and X-Forwarded-For (the client's extended by
// `client_ip`), X-Forwarded-Proto and X-Forwarded-Host (the client's Host).
void write_request_head(const request_head& h, std::string_view target, std::string_view host,
                        std::string_view client_ip, std::string& out);

}  // namespace sg::http
