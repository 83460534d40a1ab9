// The proxy's single-pass look at request and answer headers: what it takes as simple, what it
// hands to Beast's parser (`other`), and the headers it writes. No sockets.
#include "http/message_head.hpp"

#include <catch2/catch.hpp>

#include <string>

using sg::http::parse_request_head;
using sg::http::parse_response_head;
using sg::http::request_head;
using sg::http::response_head;
using result = sg::http::head_result;

namespace {

constexpr size_t limit = 64 * 1024;

result parse(const std::string& text, response_head& h) {
  return parse_response_head(text, h, limit);
}

result parse(const std::string& text, request_head& h) {
  return parse_request_head(text, h, limit);
}

// Only the verdict: the views would point into the temporary `text`.
template <class Head = response_head>
result parse(const std::string& text) {
  Head h;
  return parse(text, h);
}

}  // namespace

TEST_CASE("a Content-Length answer is simple, with views into its bytes", "[message_head]") {
  std::string text =
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\n"
      "Content-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n";
  response_head h;
  REQUIRE(parse(text, h) == result::simple);
  CHECK(h.version == 11);
  CHECK(h.status == 200);
  CHECK(h.reason == "OK");
  CHECK(h.content_length == 3);
  CHECK(h.keep_alive);
  CHECK(h.header_bytes == text.size() - 3);
  REQUIRE(h.count == 4);
  CHECK(h.fields[0].first == "Server");
  CHECK(h.fields[1].second == "text/plain");
}

TEST_CASE("values lose their surrounding whitespace, names keep their case", "[message_head]") {
  response_head h;
  std::string text = "HTTP/1.1 404 Not Found\r\nX-Trace:\t a b \t\r\nContent-length:  0 \r\n\r\n";
  REQUIRE(parse(text, h) == result::simple);
  CHECK(h.reason == "Not Found");
  CHECK(h.fields[0].first == "X-Trace");
  CHECK(h.fields[0].second == "a b");
  CHECK(h.content_length == 0);
}

TEST_CASE("keep-alive follows the node's version and Connection", "[message_head]") {
  response_head h;
  REQUIRE(parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", h) ==
          result::simple);
  CHECK_FALSE(h.keep_alive);
  REQUIRE(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", h) == result::simple);
  CHECK(h.version == 10);
  CHECK_FALSE(h.keep_alive);
  REQUIRE(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n", h) ==
          result::simple);
  CHECK(h.keep_alive);
  REQUIRE(parse("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
                h) == result::simple);
  CHECK_FALSE(h.keep_alive);
}

TEST_CASE("an unfinished header asks for more, up to the limit", "[message_head]") {
  CHECK(parse("") == result::need_more);
  CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n") == result::need_more);
  std::string big = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(limit, 'a');
  CHECK(parse(big) == result::other);  // Beast's parser answers header_limit
  response_head h;
  std::string over = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(limit, 'a') + "\r\n\r\n";
  CHECK(parse(over, h) == result::other);
}

TEST_CASE("answers Beast's parser must frame are other", "[message_head]") {
  // no length, chunked, both, two lengths, a bad length
  CHECK(parse("HTTP/1.1 200 OK\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n") ==
        result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n") == result::other);
  // interim, switching and bodiless-by-status answers
  CHECK(parse("HTTP/1.1 100 Continue\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 101 Switching Protocols\r\nContent-Length: 0\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n") == result::other);
  // Connection naming another field
  CHECK(parse("HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nContent-Length: 0\r\n\r\n") ==
        result::other);
}

TEST_CASE("malformed headers are other, for Beast's parser to reject", "[message_head]") {
  CHECK(parse("HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\n: x\r\nContent-Length: 0\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n") == result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\nContent-Length: 0\r\n\r\n") ==
        result::other);
  CHECK(parse(std::string("HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n", 48)) ==
        result::other);
  CHECK(parse("HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n") == result::other);
  std::string many = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n";
  for (size_t i = 0; i < response_head::max_fields; ++i) many += "X-F: v\r\n";
  CHECK(parse(many + "\r\n") == result::other);
}

TEST_CASE("the client's header: no hop-by-hop fields, its version, Connection only when needed",
          "[message_head]") {
  response_head h;
  std::string text =  // the views point into it: it must outlive h
      "HTTP/1.1 201 Created\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
      "Content-Length: 2\r\nTE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\n"
      "Proxy-Connection: x\r\nProxy-Authenticate: Basic\r\nX-Kept: yes\r\n\r\nhi";
  REQUIRE(parse(text, h) == result::simple);
  std::string out;
  sg::http::write_response_head(h, 11, true, out);
  CHECK(out == "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Kept: yes\r\n\r\n");
  sg::http::write_response_head(h, 11, false, out);
  CHECK(out ==
        "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Kept: yes\r\nConnection: close\r\n\r\n");
  sg::http::write_response_head(h, 10, true, out);
  CHECK(out ==
        "HTTP/1.0 201 Created\r\nContent-Length: 2\r\nX-Kept: yes\r\n"
        "Connection: keep-alive\r\n\r\n");
  sg::http::write_response_head(h, 10, false, out);
  CHECK(out == "HTTP/1.0 201 Created\r\nContent-Length: 2\r\nX-Kept: yes\r\n\r\n");
}

TEST_CASE("a request without a body is simple", "[message_head]") {
  std::string text =
      "GET /groups/g/x?q=1 HTTP/1.1\r\nHost: sgd:8080\r\nX-Session-Id: s1\r\n\r\nNEXT";
  request_head h;
  REQUIRE(parse(text, h) == result::simple);
  CHECK(h.method == "GET");
  CHECK(h.target == "/groups/g/x?q=1");
  CHECK(h.version == 11);
  CHECK(h.keep_alive);
  CHECK(h.header_bytes == text.size() - 4);
  CHECK(h.find("host") == "sgd:8080");
  CHECK(h.find("x-session-ID") == "s1");
  CHECK(h.find("X-Route-Metadata").empty());
  std::string old = "DELETE /a HTTP/1.0\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(parse(old, h) == result::simple);
  CHECK(h.version == 10);
  CHECK_FALSE(h.keep_alive);
}

TEST_CASE("requests Beast's parser must read are other", "[message_head]") {
  CHECK(parse<request_head>("GET /a HTTP/1.1\r\nHost: x\r\n") == result::need_more);
  CHECK(parse<request_head>("POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello") == result::other);
  CHECK(parse<request_head>("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        result::other);
  CHECK(
      parse<request_head>("PUT /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n") ==
      result::other);
  CHECK(parse<request_head>("GET /a HTTP/1.1\r\nConnection: Foo\r\nFoo: x\r\n\r\n") ==
        result::other);
  CHECK(parse<request_head>("GET /a b HTTP/1.1\r\n\r\n") == result::other);
  CHECK(parse<request_head>("GET /a HTTP/2\r\n\r\n") == result::other);
  CHECK(parse<request_head>("GET  /a HTTP/1.1\r\n\r\n") == result::other);
  CHECK(parse<request_head>("G(T /a HTTP/1.1\r\n\r\n") == result::other);
  CHECK(parse<request_head>("GET /a\x7f HTTP/1.1\r\n\r\n") == result::other);
  CHECK(parse<request_head>("GET /a HTTP/1.1\r\nX: a\r\n b\r\n\r\n") == result::other);
}

TEST_CASE("the node's request header: HTTP/1.1, no hop-by-hop fields, Host and X-Forwarded-*",
          "[message_head]") {
  std::string text =
      "GET /groups/g/x HTTP/1.0\r\nHost: sgd:8080\r\nConnection: keep-alive\r\n"
      "Keep-Alive: timeout=5\r\nTE: trailers\r\nX-Forwarded-For: 10.1.2.3\r\n"
      "X-Forwarded-Proto: https\r\nx-forwarded-host: spoofed\r\nAccept: */*\r\n\r\n";
  request_head h;
  REQUIRE(parse(text, h) == result::simple);
  std::string out;
  sg::http::write_request_head(h, "/x", "10.0.0.7:9000", "127.0.0.1", out);
  CHECK(out ==
        "GET /x HTTP/1.1\r\nAccept: */*\r\nHost: 10.0.0.7:9000\r\n"
        "X-Forwarded-For: 10.1.2.3, 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
        "X-Forwarded-Host: sgd:8080\r\n\r\n");
  std::string bare = "GET / HTTP/1.0\r\n\r\n";  // no Host, no X-Forwarded-For of its own
  REQUIRE(parse(bare, h) == result::simple);
  sg::http::write_request_head(h, "/", "n:1", "::1", out);
  CHECK(out ==
        "GET / HTTP/1.1\r\nHost: n:1\r\nX-Forwarded-For: ::1\r\nX-Forwarded-Proto: http\r\n\r\n");
}
