#include "http/health_prober.hpp"

#include "actors/url.hpp"
#include "http/upstream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace sg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

template <class Stream>
asio::awaitable<probe_result> exchange(Stream& s, plain_stream& tcp, const url_parts& u,
                                       std::chrono::steady_clock::time_point deadline) {
  probe_result r;
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, u.path.empty() ? "/" : u.path, 11};
  req.set(bhttp::field::host, host_header(u));
  req.set(bhttp::field::user_agent, "sgd-health-check");
  req.set(bhttp::field::connection, "close");
  tcp.expires_at(deadline);
  if (auto [ec, n] = co_await bhttp::async_write(s, req, tuple_awaitable); ec) {
    r.error = "sending the check failed: " + ec.message();
    co_return r;
  }
  // Only the status matters; the body is read (bounded) so the exchange ends cleanly.
  bhttp::response_parser<bhttp::string_body> p;
  p.body_limit(64 * 1024);
  beast::flat_buffer buf;
  auto [ec, n] = co_await bhttp::async_read_header(s, buf, p, tuple_awaitable);
  if (ec) {
    r.error = ec == beast::error::timeout ? "timed out" : "no HTTP answer: " + ec.message();
    co_return r;
  }
  r.http_status = static_cast<int32_t>(p.get().result_int());
  if (r.http_status >= 200 && r.http_status < 300)
    r.outcome = probe_outcome::pass;
  else if (r.http_status == 418)
    r.outcome = probe_outcome::drain;
  else
    r.outcome = probe_outcome::fail;
  co_return r;
}

asio::awaitable<probe_result> run_probe(std::string url, std::chrono::milliseconds timeout,
                                        asio::ssl::context* tls) {
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout;
  probe_result r;
  auto u = parse_url(url);
  if (!u) {
    r.error = "health URL is not an absolute http(s) URL";
    co_return r;
  }
  auto c = co_await connect_upstream(*u, timeout, tls);
  if (!c.conn) {
    r.error = c.timed_out ? "connect timed out" : c.error;
  } else {
    auto& conn = *c.conn;
    r = co_await std::visit([&](auto& s) { return exchange(s, conn.tcp(), *u, deadline); },
                            conn.stream);
  }
  r.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
  r.latency_ms = static_cast<int32_t>(r.latency_us / 1000);
  co_return r;
}

}  // namespace

health_prober::health_prober(io_pool& pool, std::shared_ptr<asio::ssl::context> tls)
    : pool_(pool), tls_(std::move(tls)) {}

namespace {

void start_check(asio::io_context& io, const probe_request& req,
                 std::shared_ptr<asio::ssl::context> tls, std::function<void(probe_result)> done) {
  if (req.cancelled && req.cancelled->load(std::memory_order_relaxed)) return;
  asio::co_spawn(io, run_probe(req.url, req.timeout, tls.get()),
                 [done = std::move(done), tls](std::exception_ptr e, probe_result r) {
                   if (e) {
                     r = probe_result{};
                     r.error = "health check failed unexpectedly";
                   }
                   done(std::move(r));
                 });
}

}  // namespace

void health_prober::probe(probe_request req, std::function<void(probe_result)> done) {
  auto& io = pool_.at(next_.fetch_add(1, std::memory_order_relaxed) % pool_.size());
  if (req.delay.count() <= 0) return start_check(io, req, tls_, std::move(done));
  // A plain timer and a callback while waiting out the interval (a few hundred bytes per node);
  // the coroutine with its buffers exists only while the check runs.
  auto t = std::make_unique<asio::steady_timer>(io, req.delay);
  auto& timer = *t;
  timer.async_wait([&io, t = std::move(t), req = std::move(req), tls = tls_,
                    done = std::move(done)](const boost::system::error_code& ec) mutable {
    if (!ec) start_check(io, req, std::move(tls), std::move(done));
  });
}

}  // namespace sg::http
