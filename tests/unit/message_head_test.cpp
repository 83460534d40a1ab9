// The proxy's one strict HTTP/1.x head parser (http/message_head.hpp): start lines, field views,
// the size limit, the byte rules of RFC 9112 (bare LF, bare CR, obs-fold, space before colon) and
// the framing and connection facts gathered in the same pass. No sockets.
#include "http/message_head.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace sg::http;
using namespace std::string_literals;
using result = head_result;

namespace {

constexpr size_t k_limit = 64 * 1024;

// `text` must outlive `h`: the head's views point into it.
result req(const std::string& text, message_head& h, size_t limit = k_limit) {
  return parse_request_head(text, h, limit);
}
result res(const std::string& text, message_head& h, size_t limit = k_limit) {
  return parse_response_head(text, h, limit);
}
// Only the verdict (the head dies with the call).
result req_verdict(const std::string& text, size_t limit = k_limit) {
  message_head h;
  return parse_request_head(text, h, limit);
}
result res_verdict(const std::string& text, size_t limit = k_limit) {
  message_head h;
  return parse_response_head(text, h, limit);
}

// A request with one field line `field` (without its CRLF).
std::string with_field(const std::string& field) {
  return "GET / HTTP/1.1\r\nHost: h\r\n" + field + "\r\n\r\n";
}

}  // namespace

TEST_CASE("a request head: start line, fields in order as views, header_bytes",
          "[http][message_head]") {
  std::string text = "POST /groups/g/x?y=1 HTTP/1.1\r\nHost: h:80\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody";
  message_head h;
  REQUIRE(req(text, h) == result::complete);
  CHECK(h.method == "POST");
  CHECK(h.target == "/groups/g/x?y=1");
  CHECK(h.version == 11);
  CHECK(h.header_bytes == text.size() - 4);
  REQUIRE(h.fields.size() == 3);
  CHECK(h.fields[0].name == "Host");
  CHECK(h.fields[0].value == "h:80");
  CHECK(h.fields[1].name == "X-A");
  CHECK(h.fields[2].name == "x-a");  // names keep their case
  CHECK(h.fields[2].value == "2");
  // Views into the buffer, not copies: the proxy parses in place.
  CHECK(h.fields[0].value.data() == text.data() + text.find("h:80"));
  CHECK(h.target.data() == text.data() + 5);
  // find(): the first one, any case; "" when missing.
  CHECK(h.find("x-A") == "1");
  CHECK(h.find("HOST") == "h:80");
  CHECK(h.find("missing").empty());
  CHECK(h.hosts == 1);
  CHECK(h.error == nullptr);
}

TEST_CASE("a status line with a reason, an empty one, or none", "[http][message_head]") {
  message_head h;
  std::string a = "HTTP/1.1 404 Not Found\r\nServer: x\r\n\r\n";
  REQUIRE(res(a, h) == result::complete);
  CHECK(h.version == 11);
  CHECK(h.status == 404);
  CHECK(h.reason == "Not Found");
  CHECK(h.header_bytes == a.size());

  std::string b = "HTTP/1.0 200 \r\n\r\n";
  REQUIRE(res(b, h) == result::complete);
  CHECK(h.version == 10);
  CHECK(h.reason.empty());

  // RFC 9112 §4: the reason may be empty; a status line without its second SP is taken too
  // (h11 and HAProxy do so).
  std::string c = "HTTP/1.1 204\r\n\r\n";
  REQUIRE(res(c, h) == result::complete);
  CHECK(h.status == 204);
  CHECK(h.reason.empty());

  // The reason is kept as it is: inner and trailing whitespace, obs-text.
  std::string d = "HTTP/1.1 200 OK  d\xe9j\xe0 \t\r\n\r\n";
  REQUIRE(res(d, h) == result::complete);
  CHECK(h.reason == "OK  d\xe9j\xe0 \t");

  // 3 digits, 100 and above (RFC 9110 §15); 6xx-9xx are still 3DIGIT.
  std::string e = "HTTP/1.1 999 Odd\r\n\r\n";
  REQUIRE(res(e, h) == result::complete);
  CHECK(h.status == 999);
}

TEST_CASE("malformed status lines are invalid", "[http][message_head]") {
  for (std::string line :
       {"HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 099 Low", "HTTP/1.1 000", "HTTP/1.1 abc OK",
        "HTTP/1.1  200 OK", "HTTP/1.1 200\tOK", "HTTP/2.0 200 OK", "HTTP/1.2 200 OK",
        "HTTP/0.9 200 OK", "http/1.1 200 OK", "HTTP/1.1", "HTTP/1.1 ", " HTTP/1.1 200 OK",
        "HTTP/1.1 200 O\x01K", "HTTP/1.1 200 O\x7fK", "ICY 200 OK"}) {
    INFO(line);
    CHECK(res_verdict(line + "\r\n\r\n") == result::invalid);
  }
  CHECK(res_verdict("\r\n\r\n") == result::invalid);
  // Empty lines before the start line are skipped for requests only (RFC 9112 §2.2).
  CHECK(res_verdict("\r\nHTTP/1.1 200 OK\r\n\r\n") == result::invalid);
}

TEST_CASE("field values lose surrounding OWS only", "[http][message_head]") {
  message_head h;
  std::string text =
      "GET / HTTP/1.1\r\nX-T:\t a  b \t\r\nEmpty:\r\nBlank: \t \r\nNo-Space:v\r\n\r\n";
  REQUIRE(req(text, h) == result::complete);
  REQUIRE(h.fields.size() == 4);
  CHECK(h.fields[0].value == "a  b");  // inner whitespace is part of the value
  CHECK(h.fields[1].value.empty());
  CHECK(h.fields[2].value.empty());
  CHECK(h.fields[3].value == "v");
}

TEST_CASE("keep_alive() follows the version's default and Connection", "[http][message_head]") {
  struct row {
    std::string head;
    bool keep;
  };
  for (auto& r : std::vector<row>{
           {"GET / HTTP/1.1\r\n\r\n", true},
           {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
           {"GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n", false},
           {"GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", false},
           {"GET / HTTP/1.1\r\nConnection: x\r\nConnection: close\r\n\r\n", false},
           {"GET / HTTP/1.0\r\n\r\n", false},
           {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
           {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
           {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
           // Proxy-Connection is not Connection.
           {"GET / HTTP/1.1\r\nProxy-Connection: close\r\n\r\n", true},
       }) {
    INFO(r.head);
    message_head h;
    REQUIRE(req(r.head, h) == result::complete);
    CHECK(h.keep_alive() == r.keep);
  }
  message_head h;
  std::string a = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n";
  REQUIRE(res(a, h) == result::complete);
  CHECK(h.keep_alive());
}

TEST_CASE("the limit counts the whole header, start line included", "[http][message_head]") {
  const std::string head =
      "GET /groups/g/x HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(200, 'p') + "\r\n\r\n";
  const size_t n = head.size();
  SECTION("exactly at the limit is complete, one byte over is too large") {
    CHECK(req_verdict(head, n) == result::complete);
    CHECK(req_verdict(head, n - 1) == result::too_large);
    // Body bytes after the header do not count.
    CHECK(req_verdict(head + "body", n) == result::complete);
    CHECK(req_verdict(head + "body", n - 1) == result::too_large);
  }
  SECTION("need_more for every prefix below the limit, too_large once the limit is buffered") {
    for (size_t k = 0; k < n; ++k) {
      INFO(k);
      CHECK(req_verdict(head.substr(0, k), n) == result::need_more);
    }
    for (size_t k = 1; k < n; ++k) {
      INFO(k);
      // k bytes buffered, no blank line within them, limit k: it cannot fit any more.
      CHECK(req_verdict(head.substr(0, k), k) == result::too_large);
    }
  }
  SECTION("a start line longer than the limit") {
    std::string line = "GET /" + std::string(300, 'a');
    CHECK(req_verdict(line, 100) == result::too_large);
    CHECK(req_verdict(line, 1000) == result::need_more);
  }
  SECTION("empty lines before the request line count too") {
    CHECK(req_verdict("\r\n" + head, n + 2) == result::complete);
    CHECK(req_verdict("\r\n" + head, n + 1) == result::too_large);
  }
  SECTION("answers alike") {
    std::string a = "HTTP/1.1 200 OK\r\nServer: s\r\n\r\n";
    CHECK(res_verdict(a, a.size()) == result::complete);
    CHECK(res_verdict(a, a.size() - 1) == result::too_large);
    CHECK(res_verdict(a.substr(0, a.size() - 1), a.size()) == result::need_more);
  }
  SECTION("too_large says why") {
    message_head h;
    REQUIRE(req(head, h, 10) == result::too_large);
    CHECK(h.error != nullptr);
  }
}

TEST_CASE("empty lines before a request line are skipped, a few of them", "[http][message_head]") {
  message_head h;
  std::string one = "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  REQUIRE(req(one, h) == result::complete);
  CHECK(h.method == "GET");
  CHECK(h.header_bytes == one.size());  // the skipped lines are part of what is consumed
  std::string four = "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n";
  REQUIRE(req(four, h) == result::complete);
  CHECK(h.header_bytes == four.size());
  // Bounded, so a stream of empty lines is not a request.
  CHECK(req_verdict("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n") == result::invalid);
  // A bare LF is no empty line.
  CHECK(req_verdict("\nGET / HTTP/1.1\r\n\r\n") == result::invalid);
  CHECK(req_verdict("\r\n\nGET / HTTP/1.1\r\n\r\n") == result::invalid);
  CHECK(req_verdict("\r\n") == result::need_more);
}

TEST_CASE("a bare LF anywhere is invalid at once", "[http][message_head]") {
  for (std::string text : {
           "GET / HTTP/1.1\nHost: h\r\n\r\n"s,
           "GET / HTTP/1.1\r\nHost: h\n\r\n"s,
           "GET / HTTP/1.1\r\nHost: h\r\n\n"s,
           "GET / HTTP/1.1\r\nHost: h\r\nX: a\nb\r\n\r\n"s,
           // Unfinished headers: refused as soon as the LF is in, not left waiting.
           "GET / HTTP/1.1\nHo"s,
           "GET / HTTP/1.1\r\nHost: h\nX-Unfinished"s,
           "\n"s,
       }) {
    INFO(text);
    message_head h;
    CHECK(req(text, h) == result::invalid);
    CHECK(h.error != nullptr);
  }
  CHECK(res_verdict("HTTP/1.1 200 OK\n\r\n") == result::invalid);
  CHECK(res_verdict("HTTP/1.1 200 OK\r\nServer: s\nX") == result::invalid);
}

TEST_CASE("a bare CR is invalid", "[http][message_head]") {
  for (std::string text : {
           "GET / HTTP/1.1\rHost: h\r\n\r\n"s,
           "GET /\r HTTP/1.1\r\n\r\n"s,
           "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"s,
           "GET / HTTP/1.1\r\nX\r: a\r\n\r\n"s,
           "GET / HTTP/1.1\r\nX: a\r\r\n\r\n"s,
           "GET / HTTP/1.1\r\nX: a\r\n\r\r\n"s,
       }) {
    INFO(text);
    CHECK(req_verdict(text) == result::invalid);
  }
  CHECK(res_verdict("HTTP/1.1 200 O\rK\r\n\r\n") == result::invalid);
  // A CR at the end of what is buffered may be the start of a CRLF.
  CHECK(req_verdict("GET / HTTP/1.1\r") == result::need_more);
  CHECK(req_verdict("GET / HTTP/1.1\r\nX: a\r\n\r") == result::need_more);
}

TEST_CASE("obs-fold and whitespace before the first field are invalid", "[http][message_head]") {
  CHECK(req_verdict("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n") == result::invalid);
  CHECK(req_verdict("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n") == result::invalid);
  // RFC 9112 §2.2: whitespace between the start line and the first field.
  CHECK(req_verdict("GET / HTTP/1.1\r\n Host: h\r\n\r\n") == result::invalid);
  CHECK(req_verdict("GET / HTTP/1.1\r\nX: a\r\n \r\n\r\n") == result::invalid);
  CHECK(res_verdict("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n") == result::invalid);
  message_head h;
  std::string text = "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n";
  REQUIRE(req(text, h) == result::invalid);
  CHECK(std::string(h.error).find("fold") != std::string::npos);
}

TEST_CASE("field names: tokens, no whitespace before the colon, not empty",
          "[http][message_head]") {
  for (std::string field :
       {"Host : h"s, "Host\t: h"s, ": empty name"s, "No colon"s, "X(y): 1"s, "X@y: 1"s, "X/y: 1"s,
        "X\"y: 1"s, "X[y]: 1"s, "X\xe9: 1"s, "X\x7f: 1"s, "X\0y: 1"s, "X y: 1"s}) {
    INFO(field);
    CHECK(req_verdict(with_field(field)) == result::invalid);
  }
  // Every tchar is fine; a colon in the value is data.
  message_head h;
  std::string text = with_field("!#$%&'*+-.^_`|~09AZaz: a: b");
  REQUIRE(req(text, h) == result::complete);
  CHECK(h.fields[1].name == "!#$%&'*+-.^_`|~09AZaz");
  CHECK(h.fields[1].value == "a: b");
}

TEST_CASE("NUL and other CTLs in values are invalid, obs-text is not", "[http][message_head]") {
  for (std::string field :
       {"X: a\0b"s, "X: \0"s, "X: a\x01"s, "X: a\x1f b"s, "X: a\x7f"s, "X: \x0b"s, "X: \x0c"s}) {
    INFO(field);
    CHECK(req_verdict(with_field(field)) == result::invalid);
  }
  message_head h;
  std::string text = with_field("X: caf\xc3\xa9\t\x80\xff end");
  REQUIRE(req(text, h) == result::complete);
  CHECK(h.find("x") == "caf\xc3\xa9\t\x80\xff end");
}

TEST_CASE("request lines: token method, one SP each side of the target, HTTP/1.0 or 1.1",
          "[http][message_head]") {
  for (std::string line : {"G(T / HTTP/1.1",     "G:T / HTTP/1.1",
                           "GET / HTTP/2.0",     "GET / HTTP/1.2",
                           "GET / HTTP/1",       "GET / HTTP/1.1.1",
                           "GET / http/1.1",     "GET / HTTP/1.x",
                           "GET  / HTTP/1.1",    "GET /  HTTP/1.1",
                           "GET / HTTP/1.1 ",    " GET / HTTP/1.1",
                           "GET HTTP/1.1",       "GET",
                           "GET /a b HTTP/1.1",  "GET /\x7f HTTP/1.1",
                           "GET /\xff HTTP/1.1", "GET /\x01 HTTP/1.1",
                           "GET\t/ HTTP/1.1",    "GET /\tx HTTP/1.1",
                           "PRI * HTTP/2.0"}) {
    INFO(line);
    CHECK(req_verdict(line + "\r\n\r\n"s) == result::invalid);
  }
  // Only empty lines so far: they are skipped, a request line may follow.
  CHECK(req_verdict("\r\n\r\n") == result::need_more);
  message_head h;
  std::string a = "M-SEARCH * HTTP/1.1\r\n\r\n";
  REQUIRE(req(a, h) == result::complete);
  CHECK(h.method == "M-SEARCH");
  CHECK(h.target == "*");
  std::string b = "get http://h/x?#frag HTTP/1.0\r\n\r\n";  // the target's own rules come later
  REQUIRE(req(b, h) == result::complete);
  CHECK(h.method == "get");
  CHECK(h.target == "http://h/x?#frag");
  CHECK(h.version == 10);
}

TEST_CASE("Content-Length values: one number, lists of the same number", "[http][message_head]") {
  struct row {
    std::string value;
    bool conflict;
    uint64_t length;
  };
  for (auto& r : std::vector<row>{
           {"2", false, 2},
           {"2, 2", false, 2},  // RFC 9110 §8.6: a list of one value is that value
           {"2,2,2", false, 2},
           {"0", false, 0},
           {"007", false, 7},
           {"18446744073709551615", false, 18446744073709551615ull},
           {"2, 3", true, 0},
           {"x", true, 0},
           {"-1", true, 0},
           {"", true, 0},
           {"+1", true, 0},
           {"1 2", true, 0},
           {"0x10", true, 0},
           {"2, x", true, 0},
           {"1.0", true, 0},
           {"18446744073709551616", true, 0},  // overflows uint64
       }) {
    INFO("Content-Length: " << r.value);
    message_head h;
    std::string text = with_field("Content-Length: " + r.value);
    // A conflict is a framing error, not a head error: the head itself is well-formed.
    REQUIRE(req(text, h) == result::complete);
    CHECK(h.content_lengths == 1);
    CHECK(h.length_conflict == r.conflict);
    if (!r.conflict) CHECK(h.content_length == r.length);
  }
}

TEST_CASE("several Content-Length fields must agree", "[http][message_head]") {
  message_head h;
  std::string same = "GET / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2, 2\r\n\r\n";
  REQUIRE(req(same, h) == result::complete);
  CHECK(h.content_lengths == 2);
  CHECK_FALSE(h.length_conflict);
  CHECK(h.content_length == 2);
  std::string differ = "GET / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n";
  REQUIRE(req(differ, h) == result::complete);
  CHECK(h.content_lengths == 2);
  CHECK(h.length_conflict);
  std::string empty_second = "GET / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length:\r\n\r\n";
  REQUIRE(req(empty_second, h) == result::complete);
  CHECK(h.length_conflict);
  std::string bad_first = "GET / HTTP/1.1\r\nContent-Length: x\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(req(bad_first, h) == result::complete);
  CHECK(h.length_conflict);
}

TEST_CASE("Transfer-Encoding facts: codings named, the final one", "[http][message_head]") {
  struct row {
    std::vector<std::string> fields;
    bool final_chunked;
    unsigned chunked;
  };
  for (auto& r : std::vector<row>{
           {{"chunked"}, true, 1},
           {{"CHUNKED"}, true, 1},
           {{"gzip, chunked"}, true, 1},
           {{"chunked, gzip"}, false, 1},
           {{"gzip"}, false, 0},
           {{"chunked, chunked"}, true, 2},
           {{"chunked", "chunked"}, true, 2},
           {{"chunked", "gzip"}, false, 1},  // the last coding of the last field decides
           {{"gzip", "chunked"}, true, 1},
           {{"chunked", ""}, false, 1},  // an empty field names no coding
           {{""}, false, 0},
           {{"chunked, "}, true, 1},  // empty list elements are skipped
           {{"xchunked"}, false, 0},
           {{"chunked-x"}, false, 0},
           // Parameters are not part of the coding's name: the proxy decodes the body and
           // writes a plain chunked, so "chunked;q=1" frames like "chunked".
           {{"chunked;q=1"}, true, 1},
           {{"chunked ; x=y"}, true, 1},
       }) {
    std::string text = "POST / HTTP/1.1\r\n";
    for (auto& f : r.fields) text += "Transfer-Encoding: " + f + "\r\n";
    text += "\r\n";
    INFO(text);
    message_head h;
    REQUIRE(req(text, h) == result::complete);
    CHECK(h.has_te);
    CHECK(h.te_final_chunked == r.final_chunked);
    CHECK(h.chunked_codings == r.chunked);
  }
  message_head h;
  std::string none = "POST / HTTP/1.1\r\nTE: chunked\r\n\r\n";  // TE is not Transfer-Encoding
  REQUIRE(req(none, h) == result::complete);
  CHECK_FALSE(h.has_te);
}

TEST_CASE("Host count, Connection tokens, Expect, Upgrade", "[http][message_head]") {
  message_head h;
  SECTION("Host fields are counted, any case, even empty ones") {
    std::string a = "GET / HTTP/1.1\r\nHost: a\r\nhost:\r\nHOST: b\r\n\r\n";
    REQUIRE(req(a, h) == result::complete);
    CHECK(h.hosts == 3);
    std::string b = "GET / HTTP/1.1\r\nX-Host: a\r\nHosts: b\r\n\r\n";
    REQUIRE(req(b, h) == result::complete);
    CHECK(h.hosts == 0);
  }
  SECTION("Connection: close, keep-alive, upgrade and other names") {
    std::string a = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
    REQUIRE(req(a, h) == result::complete);
    CHECK(h.conn_close);
    CHECK_FALSE(h.conn_keep_alive);
    CHECK_FALSE(h.conn_upgrade);
    CHECK_FALSE(h.conn_other);
    std::string b = "GET / HTTP/1.1\r\nConnection: Keep-Alive, Upgrade\r\n\r\n";
    REQUIRE(req(b, h) == result::complete);
    CHECK(h.conn_keep_alive);
    CHECK(h.conn_upgrade);
    CHECK_FALSE(h.conn_other);
    CHECK_FALSE(h.conn_close);
    std::string c = "GET / HTTP/1.1\r\nConnection: ,x-secret,\r\nConnection: close\r\n\r\n";
    REQUIRE(req(c, h) == result::complete);
    CHECK(h.conn_other);  // fields named in Connection are dropped with it
    CHECK(h.conn_close);  // several Connection fields add up
    std::string d = "GET / HTTP/1.1\r\nConnection:\r\n\r\n";
    REQUIRE(req(d, h) == result::complete);
    CHECK_FALSE(h.conn_other);
  }
  SECTION("Expect: 100-continue only") {
    std::string a = "PUT / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n";
    REQUIRE(req(a, h) == result::complete);
    CHECK(h.expect_continue);
    std::string b = "PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n";
    REQUIRE(req(b, h) == result::complete);
    CHECK_FALSE(h.expect_continue);
  }
  SECTION("Upgrade present or not") {
    std::string a = "GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
    REQUIRE(req(a, h) == result::complete);
    CHECK(h.has_upgrade);
    CHECK(h.conn_upgrade);
    CHECK(h.find("upgrade") == "websocket");
    std::string b = "GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n";
    REQUIRE(req(b, h) == result::complete);
    CHECK_FALSE(h.has_upgrade);
  }
}

TEST_CASE("a head parsed again forgets the previous message", "[http][message_head]") {
  // The session reuses one head per connection: no fact may leak into the next request.
  message_head h;
  std::string a =
      "POST / HTTP/1.0\r\nHost: a\r\nContent-Length: 1, 2\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close, x\r\nExpect: 100-continue\r\nUpgrade: y\r\n\r\n";
  REQUIRE(req(a, h) == result::complete);
  std::string b = "GET /b HTTP/1.1\r\n\r\n";
  REQUIRE(req(b, h) == result::complete);
  CHECK(h.fields.empty());
  CHECK(h.version == 11);
  CHECK(h.hosts == 0);
  CHECK(h.content_lengths == 0);
  CHECK_FALSE(h.length_conflict);
  CHECK_FALSE(h.has_te);
  CHECK(h.chunked_codings == 0);
  CHECK_FALSE(h.conn_close);
  CHECK_FALSE(h.conn_other);
  CHECK_FALSE(h.expect_continue);
  CHECK_FALSE(h.has_upgrade);
  CHECK(h.error == nullptr);
  std::string c = "GET / HTTP/1.1\nX";
  REQUIRE(req(c, h) == result::invalid);
  REQUIRE(req(b, h) == result::complete);
  CHECK(h.error == nullptr);
}

TEST_CASE("check_field_lines: trailer fields by the same rules", "[http][message_head]") {
  CHECK(check_field_lines("") == nullptr);
  CHECK(check_field_lines("X-A: 1\r\nX-B:\r\n") == nullptr);
  CHECK(check_field_lines("X: caf\xc3\xa9\r\n") == nullptr);
  for (std::string bad : {"X-A: 1"s, "X-A: 1\n"s, "X-A: 1\r\n\r\n"s, "\r\n"s, "X: a\nY: b\r\n"s,
                          " X: 1\r\n"s, "X : 1\r\n"s, "No colon\r\n"s, ": v\r\n"s, "X: a\0\r\n"s,
                          "X: a\rb\r\n"s, "X-A: 1\r\n folded\r\n"s}) {
    INFO(bad);
    CHECK(check_field_lines(bad) != nullptr);
  }
}

TEST_CASE("iequals, is_token, for_each_list_item", "[http][message_head]") {
  CHECK(iequals("Content-Length", "content-LENGTH"));
  CHECK_FALSE(iequals("a", "ab"));
  CHECK_FALSE(iequals("[", "{"));  // only letters fold
  CHECK(is_token("x-Y_z~1"));
  CHECK_FALSE(is_token(""));
  CHECK_FALSE(is_token("a b"));
  CHECK_FALSE(is_token("a,b"));
  std::vector<std::string> items;
  for_each_list_item(" a ,,\tb c\t, ,d,", [&](std::string_view t) { items.emplace_back(t); });
  CHECK(items == std::vector<std::string>{"a", "b c", "d"});
}
