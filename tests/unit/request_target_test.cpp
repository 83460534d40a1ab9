// Request targets as the proxy routes them (http/request_target.hpp): origin- and absolute-form,
// the RFC 3986 byte set, /groups/{group}/{rest} with dot-segments removed (RFC 3986 §5.2.4)
// without climbing above the group's root, and the node's target joined from baseUrl.
#include "http/request_target.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace sg::http;
using namespace std::string_literals;

namespace {

struct outcome {
  target_result result;
  std::string group, authority, rest;
  std::string error;
};

outcome parse(const std::string& target) {
  route_target t;
  const char* err = nullptr;
  outcome o;
  o.result = parse_target(target, t, err);
  o.group = std::string(t.group);
  o.authority = std::string(t.authority);
  o.rest = t.rest;
  if (err) o.error = err;
  return o;
}

// The rest of a routed target, "!" when it is not routed.
std::string rest_of(const std::string& target) {
  auto o = parse(target);
  return o.result == target_result::routed ? o.rest : "!";
}

bool invalid(const std::string& target) {
  auto o = parse(target);
  return o.result == target_result::invalid && !o.error.empty();
}

std::string joined(const std::string& base_path, const std::string& rest) {
  sg::url_parts base;
  base.host = "node";
  base.port = 80;
  base.path = base_path;
  std::string out = "stale";
  upstream_target(base, rest, out);
  return out;
}

}  // namespace

TEST_CASE("origin-form targets under /groups/ are routed", "[http][request_target]") {
  auto o = parse("/groups/orders/v1/items?id=3&x=/..");
  CHECK(o.result == target_result::routed);
  CHECK(o.group == "orders");
  CHECK(o.authority.empty());
  CHECK(o.rest == "/v1/items?id=3&x=/..");  // the query is not a path: kept as it is
  CHECK(parse("/groups/g").rest.empty());
  CHECK(parse("/groups/g").result == target_result::routed);
  CHECK(rest_of("/groups/g/") == "/");
  CHECK(rest_of("/groups/g?q=1") == "?q=1");
  CHECK(rest_of("/groups/g/?q") == "/?q");
  CHECK(rest_of("/groups/g/a//b/") == "/a//b/");  // empty segments are kept
}

TEST_CASE("targets the proxy does not route", "[http][request_target]") {
  for (std::string t : {"*", "/", "/groups", "/groups/", "/groups//x", "/groups/?q=1", "/group/g",
                        "/Groups/g", "//groups/g", "/metrics"}) {
    INFO(t);
    CHECK(parse(t).result == target_result::not_routed);
  }
}

TEST_CASE("absolute-form: the authority stands for Host", "[http][request_target]") {
  auto o = parse("http://api.example:8080/groups/g/x?y");
  CHECK(o.result == target_result::routed);
  CHECK(o.authority == "api.example:8080");
  CHECK(o.group == "g");
  CHECK(o.rest == "/x?y");
  CHECK(parse("HTTPS://h/groups/g").authority == "h");  // the scheme in any case
  CHECK(parse("http://[::1]:80/groups/g/a").authority == "[::1]:80");
  // No path: "/", which is not routed.
  auto bare = parse("http://h");
  CHECK(bare.result == target_result::not_routed);
  CHECK(bare.authority == "h");
  // A query without a path, an empty authority, userinfo: invalid.
  for (std::string t : {"http://h?x", "http://", "http:///groups/g", "http://u@h/groups/g",
                        "http://h<x>/groups/g", "http://h\"/groups/g"}) {
    INFO(t);
    CHECK(invalid(t));
  }
  // Not a scheme the proxy speaks: not absolute-form, so not origin-form either.
  CHECK(invalid("ftp://h/groups/g"));
  CHECK(invalid("http:/h/groups/g"));
}

TEST_CASE("authority-form and other targets are invalid", "[http][request_target]") {
  for (std::string t : {"h:443", "example.com", "groups/g", "", "?q", "%2Fgroups/g"}) {
    INFO(t);
    CHECK(invalid(t));
  }
}

TEST_CASE("request targets use RFC 3986 bytes only", "[http][request_target]") {
  // Everything pchar, '/' and '?' allow is fine.
  CHECK(rest_of("/groups/g/aZ09-._~!$&'()*+,;=:@/?/?a=b") == "/aZ09-._~!$&'()*+,;=:@/?/?a=b");
  for (char c : std::string("\"<>\\^`{|}#[] ")) {
    std::string t = "/groups/g/a"s + c + "b";
    INFO(t);
    CHECK(invalid(t));
    CHECK(invalid("/groups/g/a?x"s + c));  // in the query too
  }
  for (int c : {0x00, 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xff}) {
    std::string t = "/groups/g/a"s + static_cast<char>(c);
    INFO(c);
    CHECK(invalid(t));
  }
  // Before the route is looked at: a bad byte outside /groups is invalid, not unrouted.
  CHECK(invalid("/other<"));
  SECTION("percent-encoding: two hex digits") {
    CHECK(rest_of("/groups/g/a%20b%2Fc%7e") == "/a%20b%2Fc%7e");
    CHECK(rest_of("/groups/g/%41") == "/%41");  // at the very end
    CHECK(invalid("/groups/g/%zz"));
    CHECK(invalid("/groups/g/%4"));
    CHECK(invalid("/groups/g/%"));
    CHECK(invalid("/groups/g/%4g"));
    CHECK(invalid("/groups/g/a?q=%"));
  }
  SECTION("percent-encoded dots are not dot-segments: kept as they are") {
    CHECK(rest_of("/groups/g/%2e%2e/x") == "/%2e%2e/x");
    CHECK(rest_of("/groups/g/%2E./x") == "/%2E./x");
    CHECK(parse("/groups/%2e%2e/x").group == "%2e%2e");
  }
}

TEST_CASE("dot-segments are removed as RFC 3986 §5.2.4 says", "[http][request_target]") {
  struct row {
    const char* rest;
    const char* clean;
  };
  for (auto r :
       {row{"/a/./b", "/a/b"}, row{"/a/../b", "/b"},
        row{"/a/b/c/./../../g", "/a/g"},        // the RFC's example
        row{"/./a", "/a"}, row{"/a/.", "/a/"},  // a trailing "." or ".." leaves a trailing slash
        row{"/a/..", "/"}, row{"/a/b/..", "/a/"}, row{"/a/../", "/"}, row{"/.", "/"},
        row{"/a//../b", "/a/b"}, row{"/a/.//b", "/a//b"},
        row{"//a", "//a"},                      // empty segments are kept
        row{"/a/.b/..c/...", "/a/.b/..c/..."},  // not dot-segments
        row{"/a/./b?x=/./..", "/a/b?x=/./.."}}) {
    INFO(r.rest);
    CHECK(rest_of("/groups/g"s + r.rest) == r.clean);
  }
}

TEST_CASE("dot-segments may not climb above the group's root", "[http][request_target]") {
  for (std::string t :
       {"/groups/g/..", "/groups/g/../x", "/groups/g/../../etc/passwd", "/groups/g/a/../..",
        "/groups/g/./../x", "/groups/g/a/./../../b", "/groups/../x", "/groups/./x", "/groups/..",
        "/groups/.", "/groups/..?q", "http://h/groups/g/../x"}) {
    INFO(t);
    CHECK(invalid(t));
  }
  // Down and back up to the root is fine.
  CHECK(rest_of("/groups/g/a/..") == "/");
  CHECK(rest_of("/groups/g/a/b/../../c") == "/c");
}

TEST_CASE("parse_target reuses its output", "[http][request_target]") {
  route_target t;
  const char* err = nullptr;
  REQUIRE(parse_target("http://h/groups/a/x", t, err) == target_result::routed);
  REQUIRE(parse_target("/groups/b", t, err) == target_result::routed);
  CHECK(t.group == "b");
  CHECK(t.authority.empty());  // nothing left from the previous target
  CHECK(t.rest.empty());
  REQUIRE(parse_target("*", t, err) == target_result::not_routed);
  CHECK(t.group.empty());
}

TEST_CASE("upstream_target joins baseUrl's path and the rest", "[http][request_target]") {
  CHECK(joined("/api", "/x") == "/api/x");
  CHECK(joined("/api/", "/x") == "/api/x");  // trailing slashes trimmed
  CHECK(joined("/api//", "/x") == "/api/x");
  CHECK(joined("", "/x") == "/x");
  CHECK(joined("/", "/x") == "/x");
  CHECK(joined("/api?k=v", "/x?q=1") == "/api/x?q=1");  // baseUrl's query is dropped
  CHECK(joined("/?k=v", "/x") == "/x");
  CHECK(joined("/api", "") == "/api/");
  CHECK(joined("", "") == "/");
  CHECK(joined("/", "") == "/");
  CHECK(joined("", "?q") == "/?q");
  CHECK(joined("/api", "?q") == "/api/?q");
  CHECK(joined("/api", "/") == "/api/");
  CHECK(joined("/api", "//x") == "/api//x");
}
