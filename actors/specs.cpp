#include "actors/specs.hpp"

#include "actors/url.hpp"

#include <cstdio>

namespace sg {

const char* to_string(strategy_kind s) {
  switch (s) {
    case strategy_kind::round_robin:
      return "round_robin";
    case strategy_kind::weighted_round_robin:
      return "weighted_round_robin";
    case strategy_kind::least_connections:
      return "least_connections";
    case strategy_kind::sticky_session:
      return "sticky_session";
  }
  return "least_connections";
}

std::optional<strategy_kind> parse_strategy(std::string_view text) {
  for (auto s : {strategy_kind::round_robin, strategy_kind::weighted_round_robin,
                 strategy_kind::least_connections, strategy_kind::sticky_session})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

const char* to_string(admin_state a) {
  return a == admin_state::draining ? "draining" : "active";
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_length) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string make_node_id(std::string_view group, std::string_view name) {
  // FNV-1a 64 over "group\0name": stable across builds, platforms and controllers.
  uint64_t h = 14695981039346656037ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(group);
  mix(std::string_view("\0", 1));
  mix(name);
  char buf[24];
  std::snprintf(buf, sizeof buf, "node-%016llx", static_cast<unsigned long long>(h));
  return buf;
}

const char* to_string(check_type t) {
  return t == check_type::tcp ? "tcp" : "http";
}

std::optional<check_type> parse_check_type(std::string_view text) {
  if (text == "http") return check_type::http;
  if (text == "tcp") return check_type::tcp;
  return std::nullopt;
}

std::string check_url(const node_spec& n, const health_settings& h) {
  if (h.path.empty()) return n.health_url;
  auto base = std::string_view(n.base_url);
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base) + h.path;
}

std::string check(const health_settings& h) {
  if (h.interval_ms < 100 || h.interval_ms > 3600000)
    return "healthCheck.intervalMs must be between 100 and 3600000";
  if (h.timeout_ms < 10 || h.timeout_ms > max_check_timeout_ms)
    return "healthCheck.timeoutMs must be between 10 and " + std::to_string(max_check_timeout_ms);
  if (h.timeout_ms >= h.interval_ms)
    return "healthCheck.timeoutMs (" + std::to_string(h.timeout_ms) +
           ") must be below healthCheck.intervalMs (" + std::to_string(h.interval_ms) + ")";
  if (h.unhealthy_after < 1 || h.unhealthy_after > 100)
    return "healthCheck.unhealthyAfter must be between 1 and 100";
  if (h.healthy_after < 1 || h.healthy_after > 100)
    return "healthCheck.healthyAfter must be between 1 and 100";
  if (h.expect_status.empty() || h.expect_status.size() > max_status_ranges)
    return "healthCheck.expectStatus must hold 1 to 16 codes or ranges";
  for (auto& r : h.expect_status)
    if (r.lo < 100 || r.hi > 599 || r.lo > r.hi)
      return "healthCheck.expectStatus ranges must lie within 100-599, low end first";
  if (!h.path.empty() &&
      (h.path[0] != '/' || h.path.size() > max_check_path || !parse_url("http://h" + h.path)))
    return "healthCheck.path must be \"\" or a path starting with '/' (at most 1024 characters, "
           "no spaces or control characters)";
  if (h.expect_body.size() > max_expect_body)
    return "healthCheck.expectBody must be at most 256 bytes";
  if (h.deregister_after_ms != 0 && h.deregister_after_ms < min_deregister_after_ms)
    return "healthCheck.deregisterAfterMs must be 0 (never) or at least 1000";
  return {};
}

std::string check(const group_spec& g) {
  if (!valid_name(g.name)) return "group name must match [A-Za-z0-9._-]{1,128}";
  if (auto m = check(g.health); !m.empty()) return m;
  if (g.retries < 0 || g.retries > 10) return "retries must be between 0 and 10";
  if (g.connect_timeout_ms < 1 || g.connect_timeout_ms > 600000)
    return "connectTimeoutMs must be between 1 and 600000";
  if (g.response_timeout_ms < 1 || g.response_timeout_ms > 86400000)
    return "responseTimeoutMs must be between 1 and 86400000";
  if (g.sticky_headers.empty() || g.sticky_headers.size() > 8)
    return "stickyHeaders must hold 1 to 8 header names";
  for (auto& hname : g.sticky_headers)
    if (!valid_name(hname)) return "stickyHeaders entries must be header names";
  return {};
}

}  // namespace sg
