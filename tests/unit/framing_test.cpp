// Body framing (http/framing.hpp): request_framing and response_framing for every rule of
// RFC 9112 §6.3 the proxy applies, the incremental chunked_reader (byte by byte as in one feed,
// extensions, sizes, CRLFs, trailers and their limit), and the chunk writers.
#include "http/framing.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace sg::http;
using namespace std::string_literals;

namespace {

struct verdict {
  const char* error = nullptr;
  framing f;
};

// The framing of a head made of `start` and `fields` (each without its CRLF).
verdict request(const std::string& start, const std::vector<std::string>& fields) {
  std::string text = start + "\r\n";
  for (auto& f : fields) text += f + "\r\n";
  text += "\r\n";
  message_head h;
  REQUIRE(parse_request_head(text, h, 64 * 1024) == head_result::complete);
  verdict v;
  v.error = request_framing(h, v.f);
  return v;
}

verdict answer(const std::string& start, const std::vector<std::string>& fields,
               bool head_request = false) {
  std::string text = start + "\r\n";
  for (auto& f : fields) text += f + "\r\n";
  text += "\r\n";
  message_head h;
  REQUIRE(parse_response_head(text, h, 64 * 1024) == head_result::complete);
  verdict v;
  v.error = response_framing(h, head_request, v.f);
  return v;
}

const std::string post11 = "POST /groups/g/x HTTP/1.1";
const std::string post10 = "POST /groups/g/x HTTP/1.0";
const std::string ok11 = "HTTP/1.1 200 OK";
const std::string ok10 = "HTTP/1.0 200 OK";

// What a reader made of a whole input.
struct decoded {
  std::string data;
  size_t consumed = 0;
  bool done = false;
  const char* error = nullptr;
  std::string trailers;
};

decoded decode_at_once(std::string_view in, size_t trailer_limit = 64 * 1024) {
  chunked_reader r(trailer_limit);
  decoded d;
  d.consumed = r.feed(in, [&](std::string_view s) { d.data.append(s); });
  d.done = r.done();
  d.error = r.error();
  d.trailers = std::string(r.trailers());
  return d;
}

// One byte per feed, as a slow client sends it; stops where the reader stops.
decoded decode_bytewise(std::string_view in, size_t trailer_limit = 64 * 1024) {
  chunked_reader r(trailer_limit);
  decoded d;
  for (size_t i = 0; i < in.size() && !r.done() && !r.error(); ++i)
    d.consumed += r.feed(in.substr(i, 1), [&](std::string_view s) { d.data.append(s); });
  d.done = r.done();
  d.error = r.error();
  d.trailers = std::string(r.trailers());
  return d;
}

const char* error_of(std::string_view in) {
  return decode_at_once(in).error;
}

}  // namespace

TEST_CASE("request framing: no field, Content-Length, chunked", "[http][framing]") {
  auto none = request(post11, {"Host: h"});
  CHECK(none.error == nullptr);
  CHECK(none.f.kind == body_kind::none);
  auto cl = request(post11, {"Content-Length: 5"});
  CHECK(cl.error == nullptr);
  CHECK(cl.f.kind == body_kind::length);
  CHECK(cl.f.length == 5);
  auto zero = request(post11, {"Content-Length: 0"});
  CHECK(zero.error == nullptr);
  CHECK(zero.f.kind == body_kind::none);  // a zero length is no body to relay
  auto list = request(post11, {"Content-Length: 7, 7", "Content-Length: 7"});
  CHECK(list.error == nullptr);
  CHECK(list.f.length == 7);
  auto chunked = request(post11, {"Transfer-Encoding: chunked"});
  CHECK(chunked.error == nullptr);
  CHECK(chunked.f.kind == body_kind::chunked);
  CHECK_FALSE(chunked.f.suspicious);
  // A request never reads until close: no length field means no body.
  CHECK(request(post10, {}).f.kind == body_kind::none);
}

TEST_CASE("request framing refuses what could be read two ways", "[http][framing]") {
  // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
  CHECK(request(post10, {"Transfer-Encoding: chunked"}).error != nullptr);
  // §6.3: a final coding other than chunked cannot be delimited.
  CHECK(request(post11, {"Transfer-Encoding: gzip"}).error != nullptr);
  CHECK(request(post11, {"Transfer-Encoding: chunked, gzip"}).error != nullptr);
  CHECK(request(post11, {"Transfer-Encoding: chunked", "Transfer-Encoding: gzip"}).error !=
        nullptr);
  CHECK(request(post11, {"Transfer-Encoding:"}).error != nullptr);
  CHECK(request(post11, {"Transfer-Encoding: identity"}).error != nullptr);
  // Chunked twice: decoded once, the body would still be chunked.
  CHECK(request(post11, {"Transfer-Encoding: chunked, chunked"}).error != nullptr);
  CHECK(request(post11, {"Transfer-Encoding: chunked", "Transfer-Encoding: chunked"}).error !=
        nullptr);
  // TE with CL is how requests are smuggled: refused, in either order, whatever the length.
  CHECK(request(post11, {"Transfer-Encoding: chunked", "Content-Length: 5"}).error != nullptr);
  CHECK(request(post11, {"Content-Length: 5", "Transfer-Encoding: chunked"}).error != nullptr);
  CHECK(request(post11, {"Content-Length: 0", "Transfer-Encoding: chunked"}).error != nullptr);
  CHECK(request(post11, {"Content-Length: x", "Transfer-Encoding: chunked"}).error != nullptr);
  // Content-Length values that differ or are not numbers.
  for (std::string v : {"2, 3", "x", "-1", "", "+1", "1 2"}) {
    INFO(v);
    CHECK(request(post11, {"Content-Length: " + v}).error != nullptr);
  }
  CHECK(request(post11, {"Content-Length: 2", "Content-Length: 3"}).error != nullptr);
}

TEST_CASE("request framing: a coding other than chunked is not implemented (501)",
          "[http][framing]") {
  // RFC 9112 §6.1: a server SHOULD answer 501 to a transfer coding it does not understand;
  // forwarding it relabelled as plain chunked would hand the node gzip bytes unannounced.
  auto v = request(post11, {"Transfer-Encoding: gzip, chunked"});
  CHECK(v.error != nullptr);
  CHECK(v.f.refusal == 501);
  CHECK(request(post11, {"Transfer-Encoding: chunked"}).f.refusal == 400);  // the default
}

TEST_CASE("a Transfer-Encoding that is not a list of transfer-codings is refused",
          "[http][framing]") {
  // RFC 9112 §6.1: transfer-coding = token *( OWS ";" OWS transfer-parameter ). These name a
  // coding that is not a token before a final chunked: framing them as chunked would disagree
  // with Beast, for one, which reads "chunked\xff" as a first chunked (and so chunked twice).
  for (auto fields : std::vector<std::vector<std::string>>{
           {"Transfer-Encoding: chunked\xff", "Transfer-Encoding: chunked"},
           {"Transfer-Encoding: chunked a, chunked"},
           {"Transfer-Encoding: chunked:, chunked"},
           {"Transfer-Encoding: \"chunked\", chunked"},
       }) {
    INFO(fields[0]);
    CHECK(request(post11, fields).error != nullptr);
    CHECK(answer(ok11, fields).error != nullptr);
  }
}

TEST_CASE("answer framing: length, chunked, until close", "[http][framing]") {
  auto cl = answer(ok11, {"Content-Length: 7"});
  CHECK(cl.error == nullptr);
  CHECK(cl.f.kind == body_kind::length);
  CHECK(cl.f.length == 7);
  CHECK(answer(ok11, {"Content-Length: 0"}).f.kind == body_kind::none);
  auto ch = answer(ok11, {"Transfer-Encoding: chunked"});
  CHECK(ch.error == nullptr);
  CHECK(ch.f.kind == body_kind::chunked);
  CHECK_FALSE(ch.f.suspicious);
  // §6.3 rule 8: neither field, the body ends when the node closes.
  auto uc = answer(ok11, {"Server: s"});
  CHECK(uc.error == nullptr);
  CHECK(uc.f.kind == body_kind::until_close);
  CHECK(answer(ok10, {}).f.kind == body_kind::until_close);
  CHECK(answer("HTTP/1.1 500 Oops", {}).f.kind == body_kind::until_close);
}

TEST_CASE("answer framing: TE with CL is chunked and suspicious", "[http][framing]") {
  // §6.3 rule 3: chunked overrides the length; the connection is not reused.
  for (auto fields : std::vector<std::vector<std::string>>{
           {"Transfer-Encoding: chunked", "Content-Length: 5"},
           {"Content-Length: 5", "Transfer-Encoding: chunked"},
           {"Content-Length: x", "Transfer-Encoding: chunked"},  // the length is dropped anyway
           {"Content-Length: 2, 3", "Transfer-Encoding: chunked"},
       }) {
    INFO(fields[0] << " / " << fields[1]);
    auto v = answer(ok11, fields);
    CHECK(v.error == nullptr);
    CHECK(v.f.kind == body_kind::chunked);
    CHECK(v.f.suspicious);
  }
}

TEST_CASE("answer framing refuses what cannot be delimited", "[http][framing]") {
  CHECK(answer(ok10, {"Transfer-Encoding: chunked"}).error != nullptr);
  CHECK(answer(ok11, {"Transfer-Encoding: gzip"}).error != nullptr);
  CHECK(answer(ok11, {"Transfer-Encoding: chunked, gzip"}).error != nullptr);
  CHECK(answer(ok11, {"Transfer-Encoding: chunked, chunked"}).error != nullptr);
  CHECK(answer(ok11, {"Transfer-Encoding: chunked", "Transfer-Encoding: chunked"}).error !=
        nullptr);
  CHECK(answer(ok11, {"Content-Length: 2, 3"}).error != nullptr);
  CHECK(answer(ok11, {"Content-Length: 2", "Content-Length: 3"}).error != nullptr);
  CHECK(answer(ok11, {"Content-Length: -1"}).error != nullptr);
  CHECK(answer(ok11, {"Content-Length: 2, 2"}).error == nullptr);
}

TEST_CASE("no body for HEAD, 1xx, 204 and 304 whatever the fields say", "[http][framing]") {
  for (std::string start :
       {"HTTP/1.1 100 Continue", "HTTP/1.1 101 Switching Protocols", "HTTP/1.1 103 Early Hints",
        "HTTP/1.1 204 No Content", "HTTP/1.1 304 Not Modified"}) {
    INFO(start);
    for (auto fields : std::vector<std::vector<std::string>>{
             {}, {"Content-Length: 5"}, {"Transfer-Encoding: chunked"}}) {
      auto v = answer(start, fields);
      CHECK(v.error == nullptr);
      CHECK(v.f.kind == body_kind::none);
    }
  }
  for (auto fields : std::vector<std::vector<std::string>>{
           {}, {"Content-Length: 5"}, {"Transfer-Encoding: chunked"}}) {
    auto v = answer(ok11, fields, /*head_request=*/true);
    CHECK(v.error == nullptr);
    CHECK(v.f.kind == body_kind::none);
  }
  // 205 is not in the list: its body rules are the general ones.
  CHECK(answer("HTTP/1.1 205 Reset Content", {"Content-Length: 0"}).f.kind == body_kind::none);
  CHECK(answer("HTTP/1.1 205 Reset Content", {}).f.kind == body_kind::until_close);
  // Broken framing is refused even where no body follows: the node's framing is not trusted.
  CHECK(answer("HTTP/1.1 304 Not Modified", {"Content-Length: 2, 3"}).error != nullptr);
  CHECK(answer(ok11, {"Transfer-Encoding: gzip"}, true).error != nullptr);
  CHECK(answer("HTTP/1.0 204 No Content", {"Transfer-Encoding: chunked"}).error != nullptr);
}

TEST_CASE("chunked_reader: whole messages", "[http][framing]") {
  std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  auto d = decode_at_once(body + "GET / HTTP/1.1\r\n");
  CHECK(d.error == nullptr);
  CHECK(d.done);
  CHECK(d.data == "hello world");
  CHECK(d.trailers.empty());
  CHECK(d.consumed == body.size());  // what follows is the next message: not consumed

  std::string with_trailers = "3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-B:  2 \r\n\r\n";
  auto t = decode_at_once(with_trailers);
  CHECK(t.error == nullptr);
  CHECK(t.done);
  CHECK(t.data == "abc");
  CHECK(t.trailers == "X-Sum: 1\r\nX-B:  2 \r\n");  // as received, each line with its CRLF
  CHECK(t.consumed == with_trailers.size());

  auto empty = decode_at_once("0\r\n\r\n");
  CHECK(empty.done);
  CHECK(empty.data.empty());

  // Unfinished: neither done nor an error, everything consumed.
  auto part = decode_at_once("5\r\nhel");
  CHECK_FALSE(part.done);
  CHECK(part.error == nullptr);
  CHECK(part.consumed == 6);
  CHECK(part.data == "hel");
}

TEST_CASE("chunked_reader: data is viewed in the input, and stops after done", "[http][framing]") {
  std::string in = "4\r\nabcd\r\n0\r\n\r\nrest";
  chunked_reader r;
  std::vector<std::string_view> views;
  size_t n = r.feed(in, [&](std::string_view s) { views.push_back(s); });
  REQUIRE(views.size() == 1);
  CHECK(views[0].data() == in.data() + 3);  // no copy of the body
  CHECK(n == in.size() - 4);
  CHECK(r.done());
  CHECK(r.feed("more", [](std::string_view) { FAIL("data after done"); }) == 0);
  CHECK(r.done());
}

TEST_CASE("chunked_reader: byte by byte gives what one feed gives", "[http][framing]") {
  // The reader's state must carry across any split: sizes, extensions, CRLFs, trailers.
  for (std::string in : {
           "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"s,
           "A;name=value;x\r\n0123456789\r\n1 ;a\r\nz\r\n0\r\nT-A: 1\r\nT-B: 2\r\n\r\n"s,
           "0001\r\n\n\r\n00\r\n\r\n"s,  // a data byte that is a LF is data
           "2\r\n\r\n\r\n0;ext=\"q s\"\r\nX: y\r\n\r\n"s,
           "5\r\nhel"s,              // unfinished
           "5\r\nhelloX\r\n"s,       // errors at the same byte
           "0\r\nX: a\nb\r\n\r\n"s,  // bare LF in a trailer
       }) {
    INFO(in);
    auto whole = decode_at_once(in);
    auto bytes = decode_bytewise(in);
    CHECK(whole.data == bytes.data);
    CHECK(whole.done == bytes.done);
    CHECK((whole.error == nullptr) == (bytes.error == nullptr));
    CHECK(whole.trailers == bytes.trailers);
    CHECK(whole.consumed == bytes.consumed);
  }
  // And at every split point into two feeds.
  std::string in = "A;name=value\r\n0123456789\r\n3\r\nabc\r\n0\r\nT-A: 1\r\n\r\nNEXT";
  auto whole = decode_at_once(in);
  REQUIRE(whole.done);
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    INFO(cut);
    chunked_reader r;
    std::string data;
    size_t n = r.feed(std::string_view(in).substr(0, cut), [&](auto s) { data.append(s); });
    n += r.feed(std::string_view(in).substr(n), [&](auto s) { data.append(s); });
    CHECK(r.done());
    CHECK(r.error() == nullptr);
    CHECK(data == whole.data);
    CHECK(r.trailers() == whole.trailers);
    CHECK(n == whole.consumed);
  }
}

TEST_CASE("chunked_reader: chunk extensions", "[http][framing]") {
  for (std::string in :
       {"5;a=b\r\nhello\r\n0\r\n\r\n"s, "5 ;a\r\nhello\r\n0\r\n\r\n"s,
        "5\t;a\r\nhello\r\n0\r\n\r\n"s, "5;a=\"x y\"\r\nhello\r\n0\r\n\r\n"s,
        "5;a;b=c\r\nhello\r\n0;last\r\n\r\n"s, "5;a=\xe9\r\nhello\r\n0\r\n\r\n"s}) {
    INFO(in);
    auto d = decode_at_once(in);
    CHECK(d.error == nullptr);
    CHECK(d.done);
    CHECK(d.data == "hello");
  }
  // A byte after the size that neither starts an extension nor ends the line.
  CHECK(error_of("5x\r\nhello\r\n0\r\n\r\n") != nullptr);
  CHECK(error_of("5-\r\nhello\r\n0\r\n\r\n") != nullptr);
  // CTLs in an extension.
  CHECK(error_of("5;a\x01\r\nhello\r\n0\r\n\r\n") != nullptr);
  CHECK(error_of("5;a\x7f\r\nhello\r\n0\r\n\r\n") != nullptr);
  CHECK(error_of("5;a\0\r\nhello\r\n0\r\n\r\n"s) != nullptr);
  // Extensions are bounded (4 KiB per chunk line).
  CHECK(error_of("5;" + std::string(5000, 'a') + "\r\nhello\r\n0\r\n\r\n") != nullptr);
  CHECK(error_of("5;" + std::string(3000, 'a') + "\r\nhello\r\n0\r\n\r\n") == nullptr);
}

TEST_CASE("chunked_reader: chunk sizes", "[http][framing]") {
  SECTION("hex in either case, leading zeros") {
    auto upper =
        decode_at_once("A\r\n0123456789\r\nfF\r\n" + std::string(255, 'x') + "\r\n0\r\n\r\n");
    CHECK(upper.error == nullptr);
    CHECK(upper.data.size() == 10 + 255);
    auto zeros = decode_at_once("0005\r\nhello\r\n000\r\n\r\n");
    CHECK(zeros.error == nullptr);
    CHECK(zeros.done);
    CHECK(zeros.data == "hello");
  }
  SECTION("16 hex digits fit, 17 do not") {
    chunked_reader r;
    r.feed("ffffffffffffffff\r\n", [](std::string_view) {});
    CHECK(r.error() == nullptr);
    CHECK(r.chunk_left() == std::numeric_limits<uint64_t>::max());
    CHECK(error_of("11111111111111111\r\n") != nullptr);
    CHECK(error_of("fffffffffffffffff\r\n") != nullptr);
    // Digits are counted, not the value: leading zeros count too.
    CHECK(error_of("0000000000000000a\r\n") != nullptr);
    CHECK(error_of("000000000000000a\r\n0123456789\r\n0\r\n\r\n") == nullptr);
  }
  SECTION("no digits or not hex") {
    for (std::string in :
         {"zz\r\n"s, "\r\n"s, "-1\r\n"s, " 5\r\n"s, ";a\r\n"s, "0x5\r\n"s, "g\r\n"s}) {
      INFO(in);
      CHECK(error_of(in) != nullptr);
    }
  }
}

TEST_CASE("chunked_reader: CRLFs after sizes and data, bare LF", "[http][framing]") {
  for (std::string in : {
           "5\r\nhelloX\r\n0\r\n\r\n"s,  // data longer than its size
           "5\r\nhello\rX0\r\n\r\n"s,
           "5\r\nhello\n0\r\n\r\n"s,  // bare LF after data
           "5\r\nhello0\r\n\r\n"s,    // missing CRLF after data
           "5\nhello\r\n0\r\n\r\n"s,  // bare LF after the size
           "5;a\nhello\r\n0\r\n\r\n"s,
           "5\r\rhello\r\n0\r\n\r\n"s,
           "0\n\r\n"s,
           "0\r\n\n"s,              // bare LF as the final line
           "0\r\nX: a\n\r\n"s,      // bare LF in a trailer
           "0\r\nX: a\r\n\r\r\n"s,  // CR not followed by LF
           "0\r\nX: a\rb\r\n\r\n"s,
       }) {
    INFO(in);
    CHECK(error_of(in) != nullptr);
  }
}

TEST_CASE("chunked_reader: trailer fields are checked and bounded", "[http][framing]") {
  for (std::string in :
       {"0\r\nNo colon\r\n\r\n"s, "0\r\nX : 1\r\n\r\n"s, "0\r\nX: 1\r\n folded\r\n\r\n"s,
        "0\r\nX: a\0\r\n\r\n"s, "0\r\n: v\r\n\r\n"s}) {
    INFO(in);
    CHECK(error_of(in) != nullptr);
  }
  // The limit is on the collected trailer section.
  std::string big = "0\r\nX-Big: " + std::string(100, 'b') + "\r\n\r\n";
  CHECK(decode_at_once(big, 64).error != nullptr);
  CHECK(decode_at_once(big, 200).error == nullptr);
  CHECK(decode_bytewise(big, 64).error != nullptr);
  std::string many = "0\r\n";
  for (int i = 0; i < 20; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  CHECK(decode_at_once(many, 64).error != nullptr);
  auto fits = decode_at_once(many, 1024);
  CHECK(fits.error == nullptr);
  CHECK(fits.trailers == many.substr(3, many.size() - 5));
}

TEST_CASE("chunk writers", "[http][framing]") {
  std::string out;
  append_chunk_header(out, 0);
  CHECK(out == "0\r\n");
  for (auto [n, hex] : std::vector<std::pair<size_t, std::string>>{
           {1, "1"},
           {10, "a"},
           {26, "1a"},
           {255, "ff"},
           {4096, "1000"},
           {std::numeric_limits<size_t>::max(), std::string(sizeof(size_t) * 2, 'f')}}) {
    out = "prefix";
    append_chunk_header(out, n);
    CHECK(out == "prefix" + hex + "\r\n");  // appended, lowercase hex, no leading zeros
  }
  out.clear();
  append_chunk_end(out);
  CHECK(out == "\r\n");
  out = "x";
  append_last_chunk(out, "");
  CHECK(out == "x0\r\n\r\n");
  out.clear();
  append_last_chunk(out, "X-A: 1\r\nX-B: 2\r\n");
  CHECK(out == "0\r\nX-A: 1\r\nX-B: 2\r\n\r\n");
}

TEST_CASE("what the writers write, the reader reads back", "[http][framing]") {
  std::string body;
  std::string expect;
  for (size_t n : {1u, 15u, 16u, 300u}) {
    std::string chunk(n, static_cast<char>('a' + n % 26));
    append_chunk_header(body, chunk.size());
    body += chunk;
    append_chunk_end(body);
    expect += chunk;
  }
  append_last_chunk(body, "X-T: 1\r\n");
  auto d = decode_at_once(body);
  CHECK(d.error == nullptr);
  CHECK(d.done);
  CHECK(d.data == expect);
  CHECK(d.trailers == "X-T: 1\r\n");
  CHECK(d.consumed == body.size());
}
