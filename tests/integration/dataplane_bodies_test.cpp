// Data plane: large bodies streamed both ways intact, the group's body limit, and server-sent
// events flushed as they happen.
#include "tests/support/admin_helpers.hpp"
#include "tests/support/data_pattern.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

using namespace sg::test;

// Generous checks: a busy machine moving 64 MiB must not make the node look sick.
constexpr const char* kSteadyHealth = R"("healthCheck":{"intervalMs":1000,"timeoutMs":900})";
constexpr std::uint64_t kBig = 64ull << 20;

// The echo of an upload: REQUIREs 200 and that the node hashed exactly what was sent.
void check_echo(const http_result& r, std::uint64_t bytes, const std::string& want_sha) {
  INFO(r.status << " " << r.error << " " << r.body.substr(0, 400));
  REQUIRE(r.status == 200);
  CHECK(r.sent_bytes == bytes);
  CHECK(r.sent_sha256 == want_sha);
  auto d = json(r);
  REQUIRE(d.IsObject());
  CHECK(d["bodyBytes"].GetUint64() == bytes);
  CHECK(std::string(d["bodySha256"].GetString()) == want_sha);
}

std::string error_code(const http_result& r) {
  auto d = json(r);
  if (!d.IsObject() || !d.HasMember("error") || !d["error"].IsObject() ||
      !d["error"].HasMember("code"))
    return {};
  return d["error"]["code"].GetString();
}

}  // namespace

TEST_CASE("64 MiB uploads stream through intact", "[dataplane]") {
  sgd_instance sgd;
  test_node_process n("sink");
  put_group_fields(sgd, "up", kSteadyHealth);
  add_node(sgd, "up", n);
  const auto want = pattern_sha256(kBig);

  SECTION("Content-Length") {
    auto r = upload(sgd.proxy_port(), "/groups/up/upload", kBig);
    check_echo(r, kBig, want);
    CHECK_FALSE(r.got_continue);
  }
  SECTION("Content-Length and Expect: 100-continue") {
    auto r = upload(sgd.proxy_port(), "/groups/up/upload", kBig, {{"Expect", "100-continue"}});
    check_echo(r, kBig, want);
    CHECK(r.got_continue);
  }
}

// Found while writing these tests: relaying a chunked body, sgd passes every read to Beast's
// chunked serializer, including reads that parsed only a chunk header (0 body bytes). A 0-byte
// piece goes out as a 0-size chunk, i.e. the last-chunk "0\r\n\r\n": the message ends early and
// the real data follows as garbage (http/proxy.cpp forward(), both relay loops). The node then
// sees a broken chunked body and drops the connection: 502.
TEST_CASE("64 MiB chunked uploads stream through intact", "[dataplane]") {
  sgd_instance sgd;
  test_node_process n("sink");
  put_group_fields(sgd, "up", kSteadyHealth);
  add_node(sgd, "up", n);
  const auto want = pattern_sha256(kBig);

  SECTION("chunked") {
    auto r = upload(sgd.proxy_port(), "/groups/up/upload", kBig, {}, 60s, /*chunked=*/true);
    check_echo(r, kBig, want);
  }
  SECTION("chunked, Expect: 100-continue, PUT") {
    auto r = upload(sgd.proxy_port(), "/groups/up/upload", kBig, {{"Expect", "100-continue"}},
                    60s, /*chunked=*/true, "PUT");
    check_echo(r, kBig, want);
    CHECK(r.got_continue);
  }
}

TEST_CASE("a 64 MiB download streams through intact", "[dataplane]") {
  sgd_instance sgd;
  test_node_process n("source");
  put_group_fields(sgd, "down", kSteadyHealth);
  add_node(sgd, "down", n);

  auto r = download(sgd.proxy_port(), "/groups/down/download?bytes=" + std::to_string(kBig));
  INFO(r.status << " " << r.error);
  REQUIRE(r.status == 200);
  CHECK(r.error.empty());
  CHECK(r.header("X-Node") == "source");
  CHECK(r.body_bytes == kBig);
  CHECK(r.body_sha256 == pattern_sha256(kBig));
}

// The chunked-relay bug above: the client gets "0\r\n\r\n" before any data (an empty body).
TEST_CASE("a 64 MiB chunked download streams through intact", "[dataplane]") {
  sgd_instance sgd;
  test_node_process n("source");
  put_group_fields(sgd, "down", kSteadyHealth);
  add_node(sgd, "down", n);

  auto r = download(sgd.proxy_port(),
                    "/groups/down/download?chunked=1&bytes=" + std::to_string(kBig));
  INFO(r.status << " " << r.error);
  REQUIRE(r.status == 200);
  CHECK(r.error.empty());
  CHECK(r.body_bytes == kBig);
  CHECK(r.body_sha256 == pattern_sha256(kBig));
}

TEST_CASE("maxRequestBytes: bodies over the group's limit get 413", "[dataplane]") {
  sgd_instance sgd;
  test_node_process n("limited");
  put_group_fields(sgd, "lim", std::string(R"("maxRequestBytes":1048576,)") + kSteadyHealth);
  add_node(sgd, "lim", n);
  constexpr std::uint64_t two_mib = 2u << 20;

  // Declared too large and waiting for 100-continue: refused before any byte of body.
  auto r = upload(sgd.proxy_port(), "/groups/lim/upload", two_mib, {{"Expect", "100-continue"}});
  INFO(r.status << " " << r.error << " " << r.body);
  CHECK(r.status == 413);
  CHECK(error_code(r) == "body_too_large");
  CHECK_FALSE(r.got_continue);
  CHECK(r.sent_bytes == 0);

  // Declared too large, body sent at once: the 413 still arrives (sgd answers from the header).
  for (int i = 0; i < 2; ++i) {
    auto big = upload(sgd.proxy_port(), "/groups/lim/upload", two_mib, {}, 20s);
    INFO("#" << i << ": " << big.status << " '" << big.error << "' " << big.body);
    CHECK(big.status == 413);
    CHECK(error_code(big) == "body_too_large");
  }

  // At the limit it passes.
  auto ok = upload(sgd.proxy_port(), "/groups/lim/upload", 1u << 20);
  check_echo(ok, 1u << 20, pattern_sha256(1u << 20));
  CHECK(n.requests_served() == 1);
}

// A chunked body has no declared length: sgd must stop it at the limit mid-stream and answer
// 413. Currently the chunked-relay bug above breaks the forwarded body first: the node drops the
// connection, the client gets a 502 (and upstream_failed() then aborts sgd, see
// dataplane_errors_test.cpp).
TEST_CASE("maxRequestBytes: a chunked 2 MiB upload gets 413", "[dataplane]") {
  sgd_instance sgd;
  test_node_process n("limited");
  put_group_fields(sgd, "lim", std::string(R"("maxRequestBytes":1048576,)") + kSteadyHealth);
  add_node(sgd, "lim", n);
  constexpr std::uint64_t two_mib = 2u << 20;

  for (int i = 0; i < 2; ++i) {
    auto r = upload(sgd.proxy_port(), "/groups/lim/upload", two_mib, {}, 20s, /*chunked=*/true);
    INFO("#" << i << ": " << r.status << " '" << r.error << "' sent " << r.sent_bytes);
    CHECK(r.status == 413);
    CHECK(error_code(r) == "body_too_large");
  }
  CHECK(sgd.alive());
}

TEST_CASE("server-sent events are relayed as they happen", "[dataplane]") {
  sgd_instance sgd;
  test_node_process n("events");
  put_group_fields(sgd, "sse", kSteadyHealth);
  add_node(sgd, "sse", n);

  std::vector<std::chrono::milliseconds> at;
  std::string seen;
  auto r = stream_events(
      sgd.proxy_port(), "/groups/sse/sse?events=5&interval_ms=200",
      [&](std::string_view piece, std::chrono::milliseconds t) {
        at.push_back(t);
        seen += piece;
        return true;
      },
      10s);
  INFO(r.status << " " << r.error << " pieces " << at.size());
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type") == "text/event-stream");
  REQUIRE(!at.empty());
  CHECK(at.front() < 600ms);  // the first event was not held back until the end
  CHECK(r.elapsed >= 800ms);  // 4 intervals of 200 ms
  CHECK(at.size() >= 3);      // several separate pieces, not one buffered blob
  for (int i = 0; i < 5; ++i) {
    INFO("event " << i);
    CHECK(seen.find("data: {\"n\":" + std::to_string(i)) != std::string::npos);
  }
}
