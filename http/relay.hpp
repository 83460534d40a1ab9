#pragma once
// The proxy's one body relay, for request bodies (client -> node) and answers (node -> client):
// reads the body as its framing says (a length, the chunked coding checked byte by byte, or
// until the peer closes), writes it with the framing the other side gets (as it came, or
// chunked for an HTTP/1.1 client of a read-until-close answer, or unchunked for HTTP/1.0), and
// flushes what it has before every read that may wait (an event stream's events go out one by
// one). The header to send goes in as `prefix`: a body already buffered leaves in the same write.
#include "http/framing.hpp"
#include "http/io_deadline.hpp"
#include "http/socket_io.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace sg::http {

// One side of a relay: the stream the bytes go through and the TCP stream its deadline watches.
template <class Stream>
struct relay_side {
  Stream& stream;
  boost::beast::tcp_stream& watched;
  std::chrono::milliseconds timeout;
};

struct relay_result {
  enum code_t { ok, read_failed, write_failed, bad_framing, too_large } code = ok;
  boost::system::error_code ec;  // of the failed read or write
  const char* error = nullptr;   // what is wrong with the framing
  uint64_t bytes = 0;            // body bytes relayed (decoded)
  bool wrote = false;            // something reached `out` (the header, at least)
};

struct relay_job {
  framing from;            // how the body comes
  bool chunk_out = false;  // written with the chunked coding
  uint64_t max_bytes = 0;  // 0: no limit
  constexpr static size_t read_size = 64 * 1024;
  constexpr static size_t join_limit = 16 * 1024;  // smaller bodies are copied next to the header
};

namespace relay_detail {
constexpr auto tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);

// Writes `a` then `b` (either may be empty) completely.
template <class Stream>
boost::asio::awaitable<boost::system::error_code> write_two(Stream& s, boost::asio::const_buffer a,
                                                            boost::asio::const_buffer b) {
  boost::system::error_code ec;
  if (b.size() == 0) {  // one buffer: a plain send() first, no suspension when it all goes
    auto rest = send_now(s, a, ec);
    if (!ec && rest.size())
      std::tie(ec, std::ignore) = co_await boost::asio::async_write(s, rest, tuple_awaitable);
    co_return ec;
  }
  std::array<boost::asio::const_buffer, 2> both{a, b};
  std::tie(ec, std::ignore) = co_await boost::asio::async_write(s, both, tuple_awaitable);
  co_return ec;
}
}  // namespace relay_detail

// Relays one body from `in` (whose bytes so far are in `buf`) to `out`, after `prefix`. On
// return `buf` holds what followed the body (a pipelined request). `prefix` is left empty once
// anything was written; on an error before that it still holds the header (nothing went out,
// so the caller may answer with an error instead).
template <class In, class Out>
boost::asio::awaitable<relay_result> relay_body(relay_side<In> in, boost::beast::flat_buffer& buf,
                                                relay_side<Out> out, const relay_job& job,
                                                std::string& prefix, io_deadline& dl) {
  using namespace relay_detail;
  relay_result r;
  uint64_t left = job.from.length;
  chunked_reader chunks;
  bool finished = job.from.kind == body_kind::none;
  auto add = [&](std::string_view d) {  // decoded body bytes, to the pending output
    r.bytes += d.size();
    if (job.chunk_out) {
      if (d.empty()) return;
      append_chunk_header(prefix, d.size());
      prefix.append(d);
      append_chunk_end(prefix);
    } else {
      prefix.append(d);
    }
  };
  auto flush = [&](boost::asio::const_buffer tail) -> boost::asio::awaitable<bool> {
    if (prefix.empty() && tail.size() == 0) co_return true;
    dl.arm(out.watched, out.timeout);
    r.ec = co_await write_two(out.stream, boost::asio::buffer(prefix), tail);
    r.wrote = true;  // perhaps in part: either way the other side has seen bytes
    prefix.clear();
    if (r.ec) r.code = relay_result::write_failed;
    co_return !r.ec;
  };
  for (;;) {
    boost::asio::const_buffer tail;  // body bytes written from `buf` without a copy
    if (buf.size() && !finished) {
      std::string_view data = buffered(buf);
      switch (job.from.kind) {
        case body_kind::length: {
          auto n = static_cast<size_t>(std::min<uint64_t>(left, data.size()));
          left -= n;
          finished = left == 0;
          r.bytes += n;
          if (n <= job.join_limit) {
            prefix.append(data.substr(0, n));
            buf.consume(n);
          } else {
            tail = boost::asio::buffer(data.data(), n);
          }
          break;
        }
        case body_kind::chunked:
          buf.consume(chunks.feed(data, add));
          if (chunks.error()) {
            r.code = relay_result::bad_framing;
            r.error = chunks.error();
            if (r.wrote) prefix.clear();
            co_return r;
          }
          if ((finished = chunks.done()) && job.chunk_out)
            append_last_chunk(prefix, chunks.trailers());
          break;
        case body_kind::until_close:
          add(data);
          buf.consume(data.size());
          break;
        case body_kind::none:
          break;
      }
      if (job.max_bytes && r.bytes > job.max_bytes) {
        r.code = relay_result::too_large;
        if (r.wrote) prefix.clear();
        co_return r;
      }
    }
    // Before a read that may wait (or at the end), what is pending goes out.
    if (!co_await flush(tail)) co_return r;
    if (tail.size()) buf.consume(tail.size());
    if (finished) co_return r;
    dl.arm(in.watched, in.timeout);
    auto [ec, n] = co_await in.stream.async_read_some(buf.prepare(job.read_size), tuple_awaitable);
    buf.commit(n);
    if (ec == boost::asio::error::eof && job.from.kind == body_kind::until_close) {
      finished = true;
      if (job.chunk_out) append_last_chunk(prefix, {});
      if (!co_await flush({})) co_return r;
      co_return r;
    }
    if (ec && n == 0) {
      r.code = relay_result::read_failed;
      r.ec = ec;
      if (r.wrote) prefix.clear();
      co_return r;
    }
  }
}

}  // namespace sg::http
