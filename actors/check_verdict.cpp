#include "actors/check_verdict.hpp"

namespace sg {

namespace {

bool status_expected(const health_settings& h, int status) {
  for (auto& r : h.expect_status)
    if (status >= r.lo && status <= r.hi) return true;
  return false;
}

std::string ranges_text(const health_settings& h) {
  std::string out;
  for (auto& r : h.expect_status) {
    if (!out.empty()) out += ",";
    out += std::to_string(r.lo);
    if (r.hi != r.lo) out += "-" + std::to_string(r.hi);
  }
  return out;
}

// Length of the valid UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates, at most
// U+10FFFF), or 0 when the bytes there are not one.
size_t utf8_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

check_verdict judge_http(const health_settings& h, int status, std::string_view body) {
  check_verdict v;
  if (status_expected(h, status)) {
    if (h.expect_body.empty() || body.find(h.expect_body) != std::string_view::npos) {
      v.outcome = probe_outcome::pass;
    } else {
      v.error = "HTTP " + std::to_string(status) + " but the body does not contain '" +
                body_excerpt(h.expect_body) + "'";
    }
  } else if (status == 418) {
    v.outcome = probe_outcome::drain;
  } else {
    v.error = "HTTP " + std::to_string(status) + ", expected " + ranges_text(h);
  }
  return v;
}

std::string body_excerpt(std::string_view body, size_t max) {
  std::string out;
  out.reserve(std::min(body.size(), max));
  for (size_t i = 0; i < body.size();) {
    auto n = utf8_length(body, i);
    if (out.size() + std::max<size_t>(n, 1) > max) break;
    unsigned char c = static_cast<unsigned char>(body[i]);
    if (n == 0 || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
      out += '?';
      i += 1;
    } else {
      out.append(body.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace sg
