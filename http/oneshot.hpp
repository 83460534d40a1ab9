#pragma once
// One HTTP/1.1 request on a fresh connection, closed (with a reset) after the answer: what the
// health prober and the alert webhook send. One deadline bounds all of it (name resolution,
// connect, TLS, write, read), and at most `keep_body` bytes of the answer's body are read and
// kept. Callback-driven on the caller's io_context, with one allocation for the connection's
// state and none per read: a check every 100 µs per thread must cost little more than its
// syscalls. The answer is read by answer_reader.
#include "actors/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace sg::http {

struct oneshot_request {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string_view user_agent;
  std::string_view content_type;  // sent with a body
  std::string_view body;
  std::chrono::milliseconds timeout{5000};
  size_t keep_body = 0;       // 0: only the status line and headers are read
  bool connect_only = false;  // a tcp check: open the port (no TLS, no HTTP), then close
};

struct oneshot_result {
  int status = 0;     // 0: no HTTP answer (see error)
  std::string body;   // the first keep_body bytes of the answer's body
  std::string error;  // empty when the answer (or, connect_only, the connection) came
  bool timed_out = false;
};

// Sends `req` to `url` and calls `done` once, on `ex`, within the timeout (plus scheduling
// slack). The request's views are copied before this returns. `tls` may be null (an https URL
// then fails with a message saying TLS is not configured).
void start_oneshot(const boost::asio::any_io_executor& ex, const url_parts& url,
                   const oneshot_request& req, boost::asio::ssl::context* tls,
                   std::function<void(oneshot_result)> done);

// The same for coroutines.
boost::asio::awaitable<oneshot_result> send_oneshot(const url_parts& url,
                                                    const oneshot_request& req,
                                                    boost::asio::ssl::context* tls);

}  // namespace sg::http
