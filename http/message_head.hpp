#pragma once
// The proxy's one HTTP/1.x header parser, for requests and answers alike: strict (RFC 9112 §2-§5:
// CRLF line ends only, no obs-fold, no space before a colon, tokens and field values checked byte
// by byte, total size bounded) and allocation-free once warm (views into the read buffer; the
// field list keeps its capacity). The facts the proxy decides on (Content-Length values,
// Transfer-Encoding's codings, Connection tokens, Host count, Expect, Upgrade) are gathered in
// the same pass; framing.hpp turns them into a body length or a refusal.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sg::http {

enum class head_result {
  complete,   // the header is whole: header_bytes says where a body starts
  need_more,  // no blank line yet, still within the limit
  invalid,    // malformed: `error` says what
  too_large,  // no blank line within the limit
};

struct head_field {
  std::string_view name, value;  // value without surrounding whitespace
};

struct message_head {
  size_t header_bytes = 0;  // start line through the blank line
  std::vector<head_field> fields;
  unsigned version = 11;  // 10 or 11
  // A request's start line.
  std::string_view method, target;
  // An answer's status line.
  unsigned status = 0;
  std::string_view reason;

  // Facts gathered while parsing.
  unsigned content_lengths = 0;  // Content-Length fields (a list counts once per field)
  bool length_conflict = false;  // values that differ, or one that is not a number
  uint64_t content_length = 0;
  bool has_te = false;
  unsigned chunked_codings = 0;   // how many times "chunked" is named
  bool te_final_chunked = false;  // the last coding of the last Transfer-Encoding is chunked
  bool te_other = false;          // a coding other than chunked (gzip, ...) is named
  bool te_malformed = false;      // an element that is not a transfer-coding token
  unsigned hosts = 0;
  bool conn_close = false, conn_keep_alive = false, conn_upgrade = false;
  bool conn_other = false;  // Connection names other fields (dropped with it)
  bool expect_continue = false;
  bool has_upgrade = false;
  const char* error = nullptr;  // why invalid, for the 400 / 502 message

  // The first field named `name` (any case); "" when there is none.
  std::string_view find(std::string_view name) const;
  // Whether the message keeps its connection: the version's default and Connection.
  bool keep_alive() const { return version >= 11 ? !conn_close : conn_keep_alive && !conn_close; }
};

// Parse the header at the start of `buf` (views point into it). `limit` bounds the whole header.
// A request may be preceded by empty lines (RFC 9112 §2.2).
head_result parse_request_head(std::string_view buf, message_head& out, size_t limit);
head_result parse_response_head(std::string_view buf, message_head& out, size_t limit);

// Trailer fields after a last chunk: the same field-line rules. `buf` holds the lines, each ending
// in CRLF, without the final empty line. nullptr or what is wrong.
const char* check_field_lines(std::string_view buf);

// Case-insensitive (ASCII) equality.
bool iequals(std::string_view a, std::string_view b);

// RFC 9110 §5.6.2 token.
bool is_token(std::string_view s);

// Calls f(token) for each element of a comma-separated list (RFC 9110 §5.6.1), trimmed, empty
// elements skipped.
template <class F>
void for_each_list_item(std::string_view v, F&& f) {
  while (!v.empty()) {
    auto comma = v.find(',');
    auto item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) f(item);
  }
}

}  // namespace sg::http
