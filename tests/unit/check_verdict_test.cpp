#include "actors/check_verdict.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace sg;

TEST_CASE("judge_http: statuses, ranges, 418 and the body", "[check_verdict]") {
  health_settings h;  // 200-299
  CHECK(judge_http(h, 200, "").outcome == probe_outcome::pass);
  CHECK(judge_http(h, 299, "").outcome == probe_outcome::pass);
  auto v = judge_http(h, 301, "");
  CHECK(v.outcome == probe_outcome::fail);
  CHECK(v.error == "HTTP 301, expected 200-299");
  CHECK(judge_http(h, 418, "").outcome == probe_outcome::drain);
  CHECK(judge_http(h, 500, "").outcome == probe_outcome::fail);

  h.expect_status = {{200, 200}, {300, 399}};
  CHECK(judge_http(h, 200, "").outcome == probe_outcome::pass);
  CHECK(judge_http(h, 204, "").outcome == probe_outcome::fail);
  CHECK(judge_http(h, 302, "").outcome == probe_outcome::pass);
  CHECK(judge_http(h, 204, "").error == "HTTP 204, expected 200,300-399");

  // 418 listed as expected is a pass, not a drain.
  h.expect_status = {{200, 299}, {418, 418}};
  CHECK(judge_http(h, 418, "").outcome == probe_outcome::pass);
}

TEST_CASE("judge_http: expectBody must occur in what was read", "[check_verdict]") {
  health_settings h;
  h.expect_body = "\"status\":\"UP\"";
  CHECK(judge_http(h, 200, R"({"status":"UP","db":"ok"})").outcome == probe_outcome::pass);
  auto v = judge_http(h, 200, R"({"status":"DOWN"})");
  CHECK(v.outcome == probe_outcome::fail);
  CHECK(v.error == "HTTP 200 but the body does not contain '\"status\":\"UP\"'");
  // A status outside the expected ones fails on the status, whatever the body says.
  CHECK(judge_http(h, 503, R"({"status":"UP"})").error == "HTTP 503, expected 200-299");
  CHECK(judge_http(h, 418, "").outcome == probe_outcome::drain);
}

TEST_CASE("body_excerpt: bounded, valid UTF-8, no control characters", "[check_verdict]") {
  CHECK(body_excerpt("ok\n") == "ok\n");
  CHECK(body_excerpt(std::string(500, 'a')).size() == body_excerpt_bytes);
  CHECK(body_excerpt("a\x01"
                     "b\x7f") == "a?b?");
  CHECK(body_excerpt("\xc3(") == "?(");                             // invalid continuation
  CHECK(body_excerpt("\xc3\xa9t\xc3\xa9") == "\xc3\xa9t\xc3\xa9");  // été
  CHECK(body_excerpt("\xed\xa0\x80") == "???");                     // a surrogate is not UTF-8
  CHECK(body_excerpt("\xe0\x80\xaf") == "???");                     // overlong
  CHECK(body_excerpt("\xf4\x90\x80\x80") == "????");                // above U+10FFFF
  CHECK(body_excerpt("\xf0\x9f\x98\x80!") == "\xf0\x9f\x98\x80!");
  // A character is never cut: 3 bytes of a 4-byte one do not fit in 3.
  CHECK(body_excerpt("ab\xf0\x9f\x98\x80", 5) == "ab");
  CHECK(body_excerpt("\xc3", 10) == "?");  // truncated at the end of what was read
}
