#include "http/oneshot.hpp"

#include "http/framing.hpp"
#include "http/io_deadline.hpp"
#include "http/message_head.hpp"
#include "http/upstream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/verb.hpp>

#include <algorithm>

namespace sg::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr size_t max_head_bytes = 16 * 1024;  // HAProxy's check buffer is one 16 KiB buffer
constexpr int max_interim = 10;               // 1xx answers skipped before the final one

std::string request_bytes(const url_parts& u, const oneshot_request& in) {
  std::string out;
  auto method = bhttp::to_string(in.method);
  out.reserve(128 + u.path.size() + in.body.size());
  out.append(method.data(), method.size()).append(" ");
  out.append(u.path.empty() ? "/" : u.path).append(" HTTP/1.1\r\nHost: ").append(host_header(u));
  if (!in.user_agent.empty()) out.append("\r\nUser-Agent: ").append(in.user_agent);
  out.append("\r\nConnection: close\r\n");
  bool with_body = !in.body.empty() || in.method == bhttp::verb::post ||
                   in.method == bhttp::verb::put || in.method == bhttp::verb::patch;
  if (with_body) {
    if (!in.content_type.empty()) out.append("Content-Type: ").append(in.content_type).append("\r\n");
    out.append("Content-Length: ").append(std::to_string(in.body.size())).append("\r\n");
  }
  out.append("\r\n").append(in.body);
  return out;
}

template <class Stream>
struct exchange_io {
  Stream& s;
  plain_stream& tcp;
  io_deadline& dl;
  std::chrono::steady_clock::time_point deadline;
  std::string buf;  // what was read and not consumed yet
  bool eof = false;

  // Reads more into `buf` (at most `room` bytes); the error, or eof noted.
  asio::awaitable<boost::system::error_code> read_more(size_t room) {
    size_t have = buf.size();
    buf.resize(have + room);
    dl.arm_until(tcp, deadline);
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf.data() + have, room), tuple_awaitable);
    buf.resize(have + n);
    if (dl.take_timeout()) co_return boost::system::error_code(asio::error::timed_out);
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      eof = true;
      co_return boost::system::error_code{};
    }
    co_return ec;
  }
};

void failed(oneshot_result& r, const boost::system::error_code& ec, const char* while_doing) {
  r.timed_out = ec == asio::error::timed_out;
  r.error = r.timed_out ? std::string("timed out ") + while_doing
                        : std::string("no HTTP answer: ") + ec.message();
}

template <class Stream>
asio::awaitable<oneshot_result> exchange(Stream& s, plain_stream& tcp, const url_parts& u,
                                         const oneshot_request& in,
                                         std::chrono::steady_clock::time_point deadline) {
  oneshot_result r;
  auto dl = io_deadline::start(tcp.get_executor());
  struct closer {
    io_deadline& d;
    ~closer() { d.close(); }
  } close_dl{*dl};
  exchange_io<Stream> io{s, tcp, *dl, deadline, {}};

  auto out = request_bytes(u, in);
  dl->arm_until(tcp, deadline);
  auto [wec, wn] = co_await asio::async_write(s, asio::buffer(out), tuple_awaitable);
  if (dl->take_timeout()) wec = asio::error::timed_out;
  if (wec) {
    failed(r, wec, "sending the request");
    if (!r.timed_out) r.error = "sending the request failed: " + wec.message();
    co_return r;
  }

  // The head, skipping interim (1xx) answers: RFC 9110 §15.2, a client waits for the final one.
  message_head h;
  size_t budget = max_head_bytes;
  for (int interim = 0;;) {
    auto hr = parse_response_head(io.buf, h, budget);
    if (hr == head_result::need_more) {
      if (io.eof) {
        r.error = io.buf.empty() ? "no HTTP answer: the node closed the connection"
                                 : "no HTTP answer: the node closed within the header";
        co_return r;
      }
      if (auto ec = co_await io.read_more(std::min<size_t>(4096, budget + 1 - io.buf.size()))) {
        failed(r, ec, "waiting for the answer");
        co_return r;
      }
      continue;
    }
    if (hr == head_result::too_large) {
      r.error = "the answer's header is larger than 16 KiB";
      co_return r;
    }
    if (hr == head_result::invalid) {
      r.error = std::string("malformed HTTP answer: ") + h.error;
      co_return r;
    }
    if (h.status >= 200 || h.status == 101) break;
    if (++interim > max_interim) {
      r.error = "more than " + std::to_string(max_interim) + " interim answers";
      co_return r;
    }
    budget -= h.header_bytes;
    io.buf.erase(0, h.header_bytes);
  }
  framing f;
  if (auto err = response_framing(h, in.method == bhttp::verb::head, f)) {
    r.error = std::string("malformed HTTP answer: ") + err;
    co_return r;
  }
  r.status = static_cast<int>(h.status);
  io.buf.erase(0, h.header_bytes);
  if (in.keep_body == 0 || f.kind == body_kind::none) co_return r;

  // The body up to keep_body bytes; a short or cut-off body still leaves the status answered.
  chunked_reader chunks;
  uint64_t left = f.kind == body_kind::length ? f.length : UINT64_MAX;
  for (;;) {
    if (f.kind == body_kind::chunked) {
      chunks.feed(io.buf, [&](std::string_view d) {
        r.body.append(d.substr(0, in.keep_body - std::min(in.keep_body, r.body.size())));
      });
      io.buf.clear();
      if (chunks.done() || chunks.error()) break;
    } else {
      auto take = static_cast<size_t>(std::min<uint64_t>(left, io.buf.size()));
      r.body.append(io.buf, 0, std::min(take, in.keep_body - r.body.size()));
      left -= take;
      io.buf.clear();
      if (left == 0) break;
    }
    if (r.body.size() >= in.keep_body || io.eof) break;
    if (auto ec = co_await io.read_more(std::min<size_t>(4096, in.keep_body - r.body.size() + 64))) {
      if (ec == asio::error::timed_out) r.error = "timed out reading the body";
      break;
    }
  }
  co_return r;
}

}  // namespace

asio::awaitable<oneshot_result> send_oneshot(const url_parts& url, const oneshot_request& req,
                                             asio::ssl::context* tls) {
  auto deadline = std::chrono::steady_clock::now() + req.timeout;
  oneshot_result r;
  auto c = co_await connect_upstream(url, req.timeout, tls);
  if (!c.conn) {
    r.timed_out = c.timed_out;
    r.error = c.timed_out ? "connect timed out" : c.error;
    co_return r;
  }
  auto& conn = *c.conn;
  co_return co_await std::visit(
      [&](auto& s) { return exchange(raw(s), conn.tcp(), url, req, deadline); }, conn.stream);
}

asio::awaitable<std::string> connect_once(const url_parts& url, std::chrono::milliseconds timeout,
                                          bool& timed_out) {
  auto plain = url;
  plain.tls = false;  // a tcp check opens the port, nothing more
  auto c = co_await connect_upstream(plain, timeout, nullptr);
  timed_out = c.timed_out;
  if (c.conn) co_return std::string{};
  co_return c.timed_out ? std::string("connect timed out") : c.error;
}

}  // namespace sg::http
