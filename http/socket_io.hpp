#pragma once
// The proxy's header reads and whole-buffer writes without Beast's and Asio's composed
// operations, whose layers (handler wrappers, executor copies, a trip through the scheduler on
// every completion) were a large part of sgd's own CPU time per request. Plain functions, not
// coroutines (each coroutine call allocates a frame).
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <string_view>

namespace sg::http {

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
