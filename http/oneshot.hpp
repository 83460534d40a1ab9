#pragma once
// One HTTP/1.1 request on a fresh connection, closed after the answer: what the health prober
// and the alert webhook send. One deadline bounds all of it (name resolution, connect, TLS,
// write, read), and at most `keep_body` bytes of the answer's body are read and kept.
#include "actors/url.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace sg::http {

struct oneshot_request {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string_view user_agent;
  std::string_view content_type;  // sent with a body
  std::string_view body;
  std::chrono::milliseconds timeout{5000};
  size_t keep_body = 0;  // 0: only the status line and headers are read
};

struct oneshot_result {
  int status = 0;     // 0: no HTTP answer (see error)
  std::string body;   // the first keep_body bytes of the answer's body
  std::string error;  // empty when an answer arrived
  bool timed_out = false;
};

// Sends `req` to `url` (its host, port, scheme and path). Never throws; `tls` may be null (an
// https URL then fails with a message saying TLS is not configured).
boost::asio::awaitable<oneshot_result> send_oneshot(const url_parts& url, const oneshot_request& req,
                                                    boost::asio::ssl::context* tls);

// Opens a TCP connection to `url`'s host and port and closes it: a `tcp` health check. "" or why
// it failed; `timed_out` says whether the deadline ran out.
boost::asio::awaitable<std::string> connect_once(const url_parts& url,
                                                 std::chrono::milliseconds timeout,
                                                 bool& timed_out);

}  // namespace sg::http
