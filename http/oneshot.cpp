#include "http/oneshot.hpp"

#include "http/upstream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/write.hpp>

namespace sg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr size_t max_head_bytes = 16 * 1024;  // HAProxy's check buffer is one 16 KiB buffer

std::string read_error(const boost::system::error_code& ec) {
  return ec == beast::error::timeout ? "timed out" : "no HTTP answer: " + ec.message();
}

template <class Stream>
asio::awaitable<oneshot_result> exchange(Stream& s, plain_stream& tcp, const url_parts& u,
                                         const oneshot_request& in,
                                         std::chrono::steady_clock::time_point deadline) {
  oneshot_result r;
  bhttp::request<bhttp::span_body<const char>> req{in.method, u.path.empty() ? "/" : u.path, 11};
  req.set(bhttp::field::host, host_header(u));
  if (!in.user_agent.empty()) req.set(bhttp::field::user_agent, in.user_agent);
  req.set(bhttp::field::connection, "close");
  if (!in.body.empty() || in.method == bhttp::verb::post || in.method == bhttp::verb::put) {
    if (!in.content_type.empty()) req.set(bhttp::field::content_type, in.content_type);
    req.body() = {in.body.data(), in.body.size()};
    req.prepare_payload();
  }
  tcp.expires_at(deadline);
  if (auto [ec, n] = co_await bhttp::async_write(s, req, tuple_awaitable); ec) {
    r.timed_out = ec == beast::error::timeout;
    r.error = r.timed_out ? "timed out sending the request" : "sending failed: " + ec.message();
    co_return r;
  }
  bhttp::response_parser<bhttp::buffer_body> p;
  p.header_limit(max_head_bytes);
  p.body_limit(boost::none);  // only keep_body bytes are ever read
  beast::flat_buffer buf{max_head_bytes};
  if (auto [ec, n] = co_await bhttp::async_read_header(s, buf, p, tuple_awaitable); ec) {
    r.timed_out = ec == beast::error::timeout;
    r.error = read_error(ec);
    co_return r;
  }
  r.status = static_cast<int>(p.get().result_int());
  if (in.keep_body == 0) co_return r;
  // The body up to keep_body bytes; a short or cut-off body still leaves the status answered.
  r.body.resize(in.keep_body);
  size_t got = 0;
  while (!p.is_done() && got < in.keep_body) {
    p.get().body().data = r.body.data() + got;
    p.get().body().size = in.keep_body - got;
    auto [ec, n] = co_await bhttp::async_read(s, buf, p, tuple_awaitable);
    got = in.keep_body - p.get().body().size;
    if (ec == bhttp::error::need_buffer) continue;
    if (ec) {
      r.timed_out = ec == beast::error::timeout;
      if (r.timed_out) r.error = "timed out reading the body";
      break;
    }
  }
  r.body.resize(got);
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
      [&](auto& s) { return exchange(s, conn.tcp(), url, req, deadline); }, conn.stream);
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
