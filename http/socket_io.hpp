#pragma once
// The proxy's header reads and whole-buffer writes without Beast's and Asio's composed
// operations, whose layers (handler wrappers, executor copies, a trip through the scheduler on
// every completion) were a large part of sgd's own CPU time per request. Plain functions, not
// coroutines (each coroutine call allocates a frame); the caller's read loop is a few lines:
//
//   auto ec = feed_header(buf, parser);
//   while (ec == bhttp::error::need_more) {
//     auto [rec, n] = co_await stream.async_read_some(header_space(buf), tuple_awaitable);
//     if (!(ec = read_outcome(buf, rec, n))) ec = feed_header(buf, parser);
//   }
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <string_view>

namespace sg::http {

// Gives the parser what `b` holds. No error once the header is whole (what follows it stays in
// `b`); need_more when a read must come first; else the parser's error (header_limit, bad_...).
template <bool isRequest>
boost::system::error_code feed_header(boost::beast::flat_buffer& b,
                                      boost::beast::http::basic_parser<isRequest>& p) {
  boost::system::error_code ec;
  if (b.size() == 0) return boost::beast::http::error::need_more;
  b.consume(p.put(b.data(), ec));
  if (!ec && !p.is_header_done()) ec = boost::beast::http::error::need_more;
  return ec;
}

// Where the next header read goes: 512 bytes or what the buffer holds without growing (Beast's
// own rule for async_read_header), 64 KiB at most.
inline boost::asio::mutable_buffer header_space(boost::beast::flat_buffer& b) {
  size_t room = b.capacity() - b.size();
  return b.prepare(std::min<size_t>(std::max<size_t>(512, room), 64 * 1024));
}

// Commits a read into header_space() and says how it ended, as beast::http::async_read_header
// would: end_of_stream when the peer closed before sending anything, partial_message when it
// closed within a header.
inline boost::system::error_code read_outcome(boost::beast::flat_buffer& b,
                                              boost::system::error_code read_ec, size_t n) {
  b.commit(n);
  if (read_ec == boost::asio::error::eof)
    return b.size() ? boost::beast::http::error::partial_message
                    : boost::beast::http::error::end_of_stream;
  return read_ec;
}

// What `b` holds, as text.
inline std::string_view buffered(const boost::beast::flat_buffer& b) {
  return {static_cast<const char*>(b.data().data()), b.size()};
}

// Sends what a plain socket takes right away (on a healthy connection all of `b`) without
// suspending the caller; returns what is left for an asynchronous write (empty when all went
// or on error, which lands in `ec`).
inline boost::asio::const_buffer send_now(boost::asio::ip::tcp::socket& s,
                                          boost::asio::const_buffer b,
                                          boost::system::error_code& ec) {
  ec = {};
  if (!s.non_blocking()) s.non_blocking(true, ec);  // write_some must not block the thread
  if (ec) return {};
  size_t n = s.write_some(b, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) ec = {};
  return ec ? boost::asio::const_buffer{} : b + n;
}

// Any other stream (TLS) sends everything through its own asynchronous write.
template <class Stream>
boost::asio::const_buffer send_now(Stream&, boost::asio::const_buffer b,
                                   boost::system::error_code& ec) {
  ec = {};
  return b;
}

}  // namespace sg::http
