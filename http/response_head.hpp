#pragma once
// A strict, allocation-free look at an HTTP/1.x response header for the proxy's common case: a
// final answer framed by one Content-Length. Beast's parser spends thousands of instructions on a
// five-field header (field table lookups, a tree insert per field); this reads the bytes once and
// keeps views into them. Anything else (1xx, 204/304, chunked or close-delimited bodies, Connection
// naming other fields, obs-fold, odd characters, more than max_fields fields) is `other` and goes
// through Beast's parser, which also produces the errors for malformed headers.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace sg::http {

struct response_head {
  static constexpr size_t max_fields = 32;
  enum class result { simple, need_more, other };

  unsigned version = 11;  // 10 or 11
  unsigned status = 0;
  std::string_view reason;
  uint64_t content_length = 0;
  bool keep_alive = true;   // what the node's version and Connection say
  size_t header_bytes = 0;  // through the blank line: the body starts there
  size_t count = 0;
  std::array<std::pair<std::string_view, std::string_view>, max_fields> fields;
};

// Parses the header at the start of `buf` (views point into it). need_more: no blank line yet
// within `limit` bytes; past the limit, `other` (Beast reports header_limit).
response_head::result parse_response_head(std::string_view buf, response_head& out, size_t limit);

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

}  // namespace sg::http
