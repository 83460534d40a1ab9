// Internal: the HTTP/1.1 pieces shared by ServerGroupClient and http_call — URL parsing, one
// cancellable exchange (connect, write, read) as an Asio coroutine, and error-body parsing.
#pragma once

#include "sgd/client/server_group_client.hpp"
#include "util.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sg::client::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

// The cancellable I/O of one call. Everything runs on `ex` (a strand); abort() from the
// watchdog or a stop request cancels whatever operation is pending.
struct call_io {
  explicit call_io(net::any_io_executor e) : ex(std::move(e)) {}
  net::any_io_executor ex;
  std::optional<tcp::resolver> resolver;
  std::optional<beast::tcp_stream> stream;
  bool cancelled = false;
  bool timed_out = false;
  void abort();
  bool stopped() const { return cancelled || timed_out; }
};

// Resolves and connects io.stream to `url` within `connect_timeout`. Empty string on success,
// else a description of the failure (io.stopped() tells whether the call itself ended).
net::awaitable<std::string> connect_to(call_io& io, const base_url& url,
                                       std::chrono::milliseconds connect_timeout);

struct exchange_outcome {
  beast::error_code ec;
  bool sent_nothing = false;  // the write failed before any byte left
  bool in_read = false;       // the failure came while reading the answer
  bool keep_alive = false;    // the connection may be reused
  response res;
};

// Writes `req` on io.stream and reads the answer (body at most max_body bytes).
net::awaitable<exchange_outcome> exchange(call_io& io, http::request<http::string_body>& req,
                                          std::size_t max_body);

http::request<http::string_body> make_request(std::string_view method, const base_url& url,
                                              std::string_view target, std::string body,
                                              const header_list& a, const header_list& b);

// "Connection refused", "timed out", ... for an error code.
std::string describe(const beast::error_code& ec);

}  // namespace sg::client::detail
