#pragma once
// The proxy's one header policy, for the header a node gets and the header a client gets: which
// fields are not forwarded (hop-by-hop ones, those named in Connection, the framing fields, which
// are written anew from the body's framing), what is added (Host, X-Forwarded-*, Via) and the
// connection fields that are. Writes straight into a reused string: no allocation once warm.
#include "http/framing.hpp"
#include "http/message_head.hpp"

#include <string>
#include <string_view>

namespace sg::http {

// The framing field a written header carries.
struct body_field {
  enum kind_t { none, content_length, chunked } kind = none;
  uint64_t length = 0;
};

struct request_rewrite {
  std::string_view target;       // the node's target
  std::string_view host;         // the node's Host
  std::string_view client_ip;    // appended to X-Forwarded-For
  std::string_view client_host;  // X-Forwarded-Host ("" leaves it out)
  std::string_view via;          // this controller's Via pseudonym
  body_field body;
  bool upgrade = false;  // forward Upgrade with Connection: upgrade
};

struct response_rewrite {
  unsigned client_version = 11;
  bool keep_alive = true;  // the client's connection stays open after this answer
  std::string_view via;
  body_field body;
  bool upgrade = false;  // a 101: Upgrade and Connection: upgrade go to the client
};

// RFC 9110 §7.6.1: fields meant for one connection only (case-insensitive name).
bool hop_by_hop(std::string_view name);

// Whether a Via field of `h` names `pseudonym` as a recipient (this proxy saw it already).
bool via_names(const message_head& h, std::string_view pseudonym);

void write_request_head(const message_head& h, const request_rewrite& r, std::string& out);
void write_response_head(const message_head& h, const response_rewrite& r, std::string& out);

// "HTTP/1.x code reason\r\n" and "name: value\r\n", appended.
void append_status_line(std::string& out, unsigned version, unsigned status,
                        std::string_view reason);
void append_field(std::string& out, std::string_view name, std::string_view value);

}  // namespace sg::http
