#pragma once
// The request target as the proxy accepts it (RFC 9112 §3.2): origin-form or absolute-form,
// bytes of RFC 3986 only, then /groups/{group}/{rest}. The rest is cleaned of dot-segments
// (RFC 3986 §5.2.4) relative to the group's root, so a client cannot reach a path of the node
// outside the group's baseUrl; percent-encoded dots stay as they are.
#include "actors/url.hpp"

#include <string>
#include <string_view>

namespace sg::http {

enum class target_result { routed, not_routed, invalid };

struct route_target {
  std::string_view group;
  std::string_view authority;  // from an absolute-form target; "" for origin-form
  std::string rest;            // "" or starting with '/' or '?': what follows the group
};

// Fills `out` (views into `target`); on `invalid`, `error` says why.
target_result parse_target(std::string_view target, route_target& out, const char*& error);

// A Host value (RFC 9112 §3.2, RFC 3986 §3.2.2): host [":" port], reg-name, IPv4 or [IPv6];
// empty is allowed.
bool valid_host(std::string_view host);

// The node's target: baseUrl's path (its query dropped, trailing slashes trimmed) joined with
// the route's rest.
void upstream_target(const url_parts& base, std::string_view rest, std::string& out);

}  // namespace sg::http
