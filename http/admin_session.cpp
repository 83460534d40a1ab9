#include "http/admin_session.hpp"

#include "http/event_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <charconv>

namespace sg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

namespace {
constexpr auto io_timeout = 30s;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
}  // namespace

asio::awaitable<void> admin_session(tcp::socket sock, std::shared_ptr<admin_api> api) {
  beast::tcp_stream stream{std::move(sock)};
  beast::flat_buffer buf{16 * 1024};
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(admin_body_limit);
    stream.expires_after(io_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buf, parser, tuple_awaitable);
    std::optional<response> early;
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == beast::error::timeout || ec == asio::error::connection_reset)
      break;
    if (ec == bhttp::error::body_limit)  // Content-Length over the limit, seen with the header
      early = error_response(status::payload_too_large, "body_too_large",
                             "admin request bodies are limited to 1 MiB", 11, false);
    else if (ec == bhttp::error::header_limit)
      early = error_response(status::request_header_fields_too_large, "headers_too_large",
                             "request headers exceed 16 KiB", 11, false);
    else if (ec)
      early = error_response(status::bad_request, "bad_request",
                             "malformed HTTP request: " + ec.message(), 11, false);
    else if (auto len = parser.content_length(); len && *len > admin_body_limit)
      early = error_response(status::payload_too_large, "body_too_large",
                             "admin request bodies are limited to 1 MiB", 11, false);
    if (!early && !parser.is_done()) {
      if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(cont), tuple_awaitable);
        if (wec) break;
      }
      stream.expires_after(io_timeout);
      auto [rec, rn] = co_await bhttp::async_read(stream, buf, parser, tuple_awaitable);
      if (rec == bhttp::error::body_limit)
        early = error_response(status::payload_too_large, "body_too_large",
                               "admin request bodies are limited to 1 MiB", 11, false);
      else if (rec)
        break;
    }
    if (!early) {
      std::optional<response> denied;
      if (api->is_event_stream(parser.get(), denied)) {
        if (!denied) {
          uint64_t since = 0;
          auto last = parser.get()["Last-Event-ID"];
          std::from_chars(last.data(), last.data() + last.size(), since);
          co_await stream_events(stream, api->system(), api->events(), since);
          break;
        }
        early = std::move(denied);
      }
    }
    // (No co_await inside ?: — g++ 12 miscompiles that in coroutines.)
    response res;
    if (early)
      res = std::move(*early);
    else
      res = co_await api->handle(parser.get());
    stream.expires_after(io_timeout);
    auto [wec, wn] = co_await bhttp::async_write(stream, res, tuple_awaitable);
    if (wec || !res.keep_alive()) break;
  }
  // Lingering close: after an early answer (413, 400) the client may still be sending its body;
  // closing at once would reset the connection before it reads the answer. Read and discard
  // for a moment (bounded: 1 s, 8 MiB) after saying we are done.
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  std::vector<char> sink(16 * 1024);
  size_t drained = 0;
  stream.expires_after(1s);
  while (drained < (8u << 20)) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), tuple_awaitable);
    if (ec) break;
    drained += n;
  }
}

}  // namespace sg::http
