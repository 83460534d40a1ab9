#pragma once
// How one health check's answer counts against a group's expectations (status ranges, a body
// substring, 418 as a drain request), and the bit of the body kept for the node's view. Pure
// functions: the prober calls them on its I/O thread, tests call them directly.
#include "actors/health_machine.hpp"
#include "actors/specs.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace sg {

// Bytes of a check's body read when it must hold expectBody, and kept for the node's view.
inline constexpr size_t expect_body_window = 16 * 1024;
inline constexpr size_t body_excerpt_bytes = 128;

struct check_verdict {
  probe_outcome outcome = probe_outcome::fail;
  std::string error;  // why it failed; empty when it passed or asked for a drain
};

// An HTTP answer: a status in expect_status passes if the body (its first bytes, as read) holds
// expect_body; 418 outside expect_status asks for a drain; anything else fails.
check_verdict judge_http(const health_settings& h, int status, std::string_view body);

// Up to `max` bytes of `body` as valid UTF-8 for JSON views: invalid bytes and control
// characters other than tab and newline become '?', and no character is cut in half.
std::string body_excerpt(std::string_view body, size_t max = body_excerpt_bytes);

}  // namespace sg
