// libFuzzer target: request targets (http/request_target.hpp: parse_target, upstream_target).
//
// Input: the request target, optionally followed by a NUL and a node's baseUrl (parsed with
// parse_url as at registration; without one, or when it is refused, "http://node:8080/api/").
// Checked: a routed target names a group that is one real segment, its rest is "" or starts with
// '/' or '?', has no "." or ".." segment and equals an independent RFC 3986 §5.2.4 reading that
// refuses to climb (a target that would climb is refused, never clamped); the same path in
// absolute-form routes the same; the node's target starts with '/' and with baseUrl's path and
// stays below it; a reused route_target reads as a fresh one.
#include "actors/url.hpp"
#include "fuzz_common.hpp"
#include "http/request_target.hpp"

#include <vector>

using namespace sg::http;

namespace {

// "." and ".." removed segment by segment; false when ".." would leave the root.
bool reference_clean(std::string_view path, std::string& out) {
  out.clear();
  if (path.empty()) return true;
  std::vector<std::string_view> segs;
  bool trailing_slash = false;
  std::string_view in = path.substr(1);  // after the leading '/'
  for (;;) {
    auto slash = in.find('/');
    auto seg = in.substr(0, slash);
    bool last = slash == std::string_view::npos;
    trailing_slash = false;
    if (seg == ".") {
      trailing_slash = last;
    } else if (seg == "..") {
      if (segs.empty()) return false;
      segs.pop_back();
      trailing_slash = last;
    } else {
      segs.push_back(seg);
    }
    if (last) break;
    in.remove_prefix(slash + 1);
  }
  for (auto s : segs) {
    out += '/';
    out.append(s);
  }
  if (trailing_slash) out += '/';
  return true;
}

bool has_dot_segment(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    auto seg = path.substr(start, end == std::string_view::npos ? end : end - start);
    if (seg == "." || seg == "..") return true;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  auto nul = all.find('\0');
  std::string target(all.substr(0, nul));
  std::string_view base_text = nul == std::string_view::npos ? "" : all.substr(nul + 1);
  static const sg::url_parts fallback = *sg::parse_url("http://node:8080/api/");
  auto parsed = sg::parse_url(base_text);
  const sg::url_parts& base = parsed ? *parsed : fallback;
  FUZZ_CHECK(base.path.empty() || base.path.front() == '/');

  route_target rt;
  const char* error = nullptr;
  auto r = parse_target(target, rt, error);
  // A route_target reused across requests (as the proxy does) reads the same.
  static route_target warm;
  const char* warm_error = nullptr;
  FUZZ_CHECK(parse_target(target, warm, warm_error) == r);
  FUZZ_CHECK(warm.group == rt.group && warm.authority == rt.authority && warm.rest == rt.rest);
  FUZZ_CHECK((warm_error == nullptr) == (error == nullptr));
  if (r == target_result::invalid) {
    FUZZ_CHECK(error != nullptr);
    return 0;
  }
  if (r == target_result::not_routed) return 0;

  // The group: one segment, not a dot-segment.
  FUZZ_CHECK(!rt.group.empty() && rt.group != "." && rt.group != "..");
  FUZZ_CHECK(rt.group.find_first_of("/?#") == std::string_view::npos);
  // The rest: "" or '/'... or '?'...; no dot-segment in its path.
  FUZZ_CHECK(rt.rest.empty() || rt.rest.front() == '/' || rt.rest.front() == '?');
  auto q = rt.rest.find('?');
  std::string_view rest_path = std::string_view(rt.rest).substr(0, q);
  FUZZ_CHECK(!has_dot_segment(rest_path));
  FUZZ_CHECK(rt.rest.find('#') == std::string::npos);
  for (unsigned char c : rt.rest) FUZZ_CHECK(c > 0x20 && c < 0x7f);

  // The same reading done independently: the path after the group, cleaned, then the query.
  bool absolute = !target.empty() && target.front() != '/';
  std::string_view path = target;
  if (absolute) {
    FUZZ_CHECK(!rt.authority.empty() && rt.authority.find('@') == std::string_view::npos);
    auto after = path.substr(path.find("//") + 2);
    auto end = after.find_first_of("/?");
    path = end == std::string_view::npos ? std::string_view("/") : after.substr(end);
  } else {
    FUZZ_CHECK(rt.authority.empty());
  }
  FUZZ_CHECK(path.starts_with("/groups/"));
  auto pq = path.find('?');
  auto query = pq == std::string_view::npos ? std::string_view{} : path.substr(pq);
  auto after_groups = path.substr(8, pq == std::string_view::npos ? pq : pq - 8);
  FUZZ_CHECK(after_groups.substr(0, after_groups.find('/')) == rt.group);
  auto raw_rest = after_groups.substr(rt.group.size());
  std::string clean;
  FUZZ_CHECK(reference_clean(raw_rest, clean));  // a target that would climb is not routed
  clean.append(query);
  FUZZ_CHECK(clean == rt.rest);

  // Origin-form and absolute-form route alike.
  if (!absolute) {
    route_target rt2;
    const char* err2 = nullptr;
    std::string abs = "http://example.com" + target;
    FUZZ_CHECK(parse_target(abs, rt2, err2) == target_result::routed);
    FUZZ_CHECK(rt2.group == rt.group && rt2.rest == rt.rest && rt2.authority == "example.com");
  }

  // The node's target: below baseUrl's path.
  std::string up;
  upstream_target(base, rt.rest, up);
  FUZZ_CHECK(!up.empty() && up.front() == '/');
  std::string_view bp = base.path;
  bp = bp.substr(0, bp.find('?'));
  while (!bp.empty() && bp.back() == '/') bp.remove_suffix(1);
  FUZZ_CHECK(up.starts_with(bp));
  FUZZ_CHECK(up.size() > bp.size() && up[bp.size()] == '/');
  std::string_view below = std::string_view(up).substr(bp.size());
  FUZZ_CHECK(!has_dot_segment(below.substr(0, below.find('?'))));
  return 0;
}
