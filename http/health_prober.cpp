#include "http/health_prober.hpp"

#include "actors/check_verdict.hpp"
#include "http/oneshot.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

namespace sg::http {

namespace asio = boost::asio;

namespace {

asio::awaitable<probe_result> run_probe(std::shared_ptr<const check_target> t,
                                        asio::ssl::context* tls) {
  auto start = std::chrono::steady_clock::now();
  auto& h = t->settings;
  auto timeout = std::chrono::milliseconds(h.timeout_ms);
  probe_result r;
  if (!t->parts) {
    r.error = "health URL is not an absolute http(s) URL";
  } else if (h.type == check_type::tcp) {
    bool timed_out = false;
    r.error = co_await connect_once(*t->parts, timeout, timed_out);
    if (r.error.empty()) r.outcome = probe_outcome::pass;
  } else {
    oneshot_request req;
    req.user_agent = "sgd-health-check";
    req.timeout = timeout;
    // 3 bytes more than the excerpt keeps: a character the read cut off is dropped whole.
    req.keep_body = h.expect_body.empty() ? body_excerpt_bytes + 3 : expect_body_window;
    auto a = co_await send_oneshot(*t->parts, req, tls);
    r.http_status = a.status;
    if (!a.error.empty()) {
      r.error = std::move(a.error);  // no answer, or the body did not arrive within the timeout
    } else {
      auto v = judge_http(h, a.status, a.body);
      r.outcome = v.outcome;
      r.error = std::move(v.error);
      r.body = body_excerpt(a.body);
    }
  }
  r.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
  r.latency_ms = static_cast<int32_t>(r.latency_us / 1000);
  co_return r;
}

void start_check(asio::io_context& io, probe_request req,
                 std::shared_ptr<asio::ssl::context> tls, std::function<void(probe_result)> done) {
  if (req.cancelled && req.cancelled->load(std::memory_order_relaxed)) return;
  asio::co_spawn(io, run_probe(std::move(req.target), tls.get()),
                 [done = std::move(done), tls](std::exception_ptr e, probe_result r) {
                   if (e) {
                     r = probe_result{};
                     r.error = "health check failed unexpectedly";
                   }
                   done(std::move(r));
                 });
}

}  // namespace

health_prober::health_prober(io_pool& pool, std::shared_ptr<asio::ssl::context> tls)
    : pool_(pool), tls_(std::move(tls)) {}

void health_prober::probe(probe_request req, std::function<void(probe_result)> done) {
  auto& io = pool_.at(next_.fetch_add(1, std::memory_order_relaxed) % pool_.size());
  if (req.delay.count() <= 0) return start_check(io, std::move(req), tls_, std::move(done));
  // A plain timer and a callback while waiting out the interval (a few hundred bytes per node);
  // the coroutine with its buffers exists only while the check runs.
  auto t = std::make_unique<asio::steady_timer>(io, req.delay);
  auto& timer = *t;
  timer.async_wait([&io, t = std::move(t), req = std::move(req), tls = tls_,
                    done = std::move(done)](const boost::system::error_code& ec) mutable {
    if (!ec) start_check(io, std::move(req), std::move(tls), std::move(done));
  });
}

}  // namespace sg::http
