#pragma once
// The proxy's header reads and whole-buffer writes without Beast's and Asio's composed
// operations, whose layers (handler wrappers, executor copies, a trip through the scheduler on
// every completion) were a large part of sgd's own CPU time per request. read_header feeds
// Beast's parser from the connection's buffer and reads only when it needs more; send_all writes
// on a plain socket at once and waits for the socket only for what it did not take.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

namespace sg::http {

// Reads until `p` has a whole header (what follows it stays in `b`), like
// beast::http::async_read_header: end_of_stream when the peer closed before sending anything,
// the parser's error (partial_message, header_limit, bad_...) otherwise.
template <class Stream, bool isRequest>
boost::asio::awaitable<boost::system::error_code> read_header(
    Stream& s, boost::beast::flat_buffer& b, boost::beast::http::basic_parser<isRequest>& p) {
  namespace bhttp = boost::beast::http;
  boost::system::error_code ec;
  for (;;) {
    if (b.size() != 0) {
      auto used = p.put(b.data(), ec);
      b.consume(used);
      if (!ec && p.is_header_done()) co_return ec;
      if (ec && ec != bhttp::error::need_more) co_return ec;
      ec = {};
    }
    // 512 bytes up to what the buffer holds without growing (Beast's own rule), 64 KiB at most.
    auto size = boost::beast::read_size(b, 64 * 1024);
    if (size == 0) co_return bhttp::error::buffer_overflow;
    auto [rec, n] = co_await s.async_read_some(b.prepare(size),
                                               boost::asio::as_tuple(boost::asio::use_awaitable));
    b.commit(n);
    if (rec == boost::asio::error::eof) {
      if (!p.got_some()) co_return bhttp::error::end_of_stream;
      p.put_eof(ec);  // a header cut short: partial_message
      co_return ec ? ec : boost::system::error_code(bhttp::error::partial_message);
    }
    if (rec) co_return rec;
  }
}

// Writes all of `b`. On a plain socket what the kernel takes right away (on a healthy connection
// the whole of it) is sent without suspending; only the rest waits for the socket.
inline boost::asio::awaitable<boost::system::error_code> send_all(boost::asio::ip::tcp::socket& s,
                                                                  boost::asio::const_buffer b) {
  boost::system::error_code ec;
  if (!s.non_blocking()) s.non_blocking(true, ec);  // write_some must not block the thread
  size_t n = ec ? 0 : s.write_some(b, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) ec = {};
  if (ec || n == b.size()) co_return ec;
  auto [wec, wn] = co_await boost::asio::async_write(
      s, b + n, boost::asio::as_tuple(boost::asio::use_awaitable));
  co_return wec;
}

// Any other stream (TLS): its own asynchronous write.
template <class Stream>
boost::asio::awaitable<boost::system::error_code> send_all(Stream& s, boost::asio::const_buffer b) {
  auto [ec, n] =
      co_await boost::asio::async_write(s, b, boost::asio::as_tuple(boost::asio::use_awaitable));
  co_return ec;
}

}  // namespace sg::http
