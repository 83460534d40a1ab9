#include "actors/url.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace sg;

TEST_CASE("parse_url accepts absolute http and https URLs", "[url]") {
  SECTION("http without port or path gets port 80") {
    auto u = parse_url("http://example.com");
    REQUIRE(u);
    CHECK_FALSE(u->tls);
    CHECK(u->host == "example.com");
    CHECK(u->port == 80);
    CHECK(u->path.empty());
  }
  SECTION("https without port gets 443") {
    auto u = parse_url("https://api.example.com/");
    REQUIRE(u);
    CHECK(u->tls);
    CHECK(u->host == "api.example.com");
    CHECK(u->port == 443);
    CHECK(u->path == "/");
  }
  SECTION("explicit port, path and query") {
    auto u = parse_url("http://10.0.0.7:8081/api/v1?x=1&y=2");
    REQUIRE(u);
    CHECK(u->host == "10.0.0.7");
    CHECK(u->port == 8081);
    CHECK(u->path == "/api/v1?x=1&y=2");
  }
  SECTION("query without path gets a leading slash") {
    auto u = parse_url("https://h:8443?q=1");
    REQUIRE(u);
    CHECK(u->port == 8443);
    CHECK(u->path == "/?q=1");
  }
  SECTION("port bounds 1 and 65535") {
    REQUIRE(parse_url("http://h:1"));
    CHECK(parse_url("http://h:1")->port == 1);
    REQUIRE(parse_url("http://h:65535"));
    CHECK(parse_url("http://h:65535")->port == 65535);
  }
  SECTION("IPv6 literal, with and without port") {
    auto u = parse_url("http://[::1]:9000/health");
    REQUIRE(u);
    CHECK(u->host == "::1");
    CHECK(u->port == 9000);
    CHECK(u->path == "/health");
    auto v = parse_url("https://[2001:db8::42]");
    REQUIRE(v);
    CHECK(v->host == "2001:db8::42");
    CHECK(v->port == 443);
  }
}

TEST_CASE("parse_url rejects what a node must not register", "[url]") {
  auto rejects = [](const std::string& s) {
    INFO("url: '" << s << "'");
    CHECK_FALSE(parse_url(s));
  };
  SECTION("relative and foreign schemes") {
    rejects("");
    rejects("/api/health");
    rejects("example.com/health");
    rejects("//example.com/");
    rejects("ftp://example.com/");
    rejects("HTTP://example.com/");
    rejects("http:/example.com");
  }
  SECTION("userinfo and fragment") {
    rejects("http://user:pw@example.com/");
    rejects("http://user@example.com/");
    rejects("http://example.com/#frag");
    rejects("http://example.com/a?b=1#frag");
  }
  SECTION("spaces and control characters") {
    rejects("http://example.com/a b");
    rejects(" http://example.com/");
    rejects("http://exa mple.com/");
    rejects("http://example.com/\t");
  }
  SECTION("bad ports") {
    rejects("http://example.com:0/");
    rejects("http://example.com:65536/");
    rejects("http://example.com:/");
    rejects("http://example.com:99999999999/");
    rejects("http://example.com:-1/");
    rejects("http://example.com:80a/");
    rejects("http://[::1]:/");
    rejects("http://[::1]:0/");
  }
  SECTION("missing or malformed host") {
    rejects("http://");
    rejects("http:///path");
    rejects("http://:8080/");
    rejects("https://?q=1");
    rejects("http://[]/");
    rejects("http://[::1/");
    rejects("http://[::1]x/");
    rejects("http://exa_mple.com/");
  }
}

TEST_CASE("host_header: brackets for IPv6, the port unless it is the scheme's default", "[url]") {
  auto h = [](const char* url) {
    auto u = parse_url(url);
    REQUIRE(u);
    return host_header(*u);
  };
  CHECK(h("http://node-1.internal") == "node-1.internal");
  CHECK(h("http://node-1.internal:80/health") == "node-1.internal");
  CHECK(h("http://127.0.0.1:8081/health") == "127.0.0.1:8081");
  CHECK(h("https://api.example.com/x") == "api.example.com");
  CHECK(h("https://api.example.com:80/x") == "api.example.com:80");
  CHECK(h("http://api.example.com:443/x") == "api.example.com:443");
  CHECK(h("http://[::1]:9000/health") == "[::1]:9000");  // the prober dropped these brackets
  CHECK(h("https://[fe80::1]/") == "[fe80::1]");
}
