#include "http/health_prober.hpp"

#include "actors/check_verdict.hpp"
#include "http/oneshot.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace sg::http {

namespace asio = boost::asio;

namespace {

// What a finished exchange says about the node.
probe_result judge(const check_target& t, oneshot_result a) {
  probe_result r;
  r.http_status = a.status;
  if (!a.error.empty()) {
    r.error = std::move(a.error);  // no answer, or the body did not arrive within the timeout
  } else if (t.settings.type == check_type::tcp) {
    r.outcome = probe_outcome::pass;
  } else {
    auto v = judge_http(t.settings, a.status, a.body);
    r.outcome = v.outcome;
    r.error = std::move(v.error);
    r.body = body_excerpt(a.body);
  }
  return r;
}

void start_check(asio::io_context& io, probe_request req, std::shared_ptr<asio::ssl::context> tls,
                 std::function<void(probe_result)> done) {
  if (req.cancelled && req.cancelled->load(std::memory_order_relaxed)) return;
  auto t = std::move(req.target);
  if (!t->parts) {
    probe_result r;
    r.error = "health URL is not an absolute http(s) URL";
    return done(std::move(r));
  }
  auto& h = t->settings;
  oneshot_request o;
  o.connect_only = h.type == check_type::tcp;
  o.user_agent = "sgd-health-check";
  o.timeout = std::chrono::milliseconds(h.timeout_ms);
  // 3 bytes more than the excerpt keeps: a character the read cut off is dropped whole.
  o.keep_body = h.expect_body.empty() ? body_excerpt_bytes + 3 : expect_body_window;
  auto start = std::chrono::steady_clock::now();
  auto* ctx = tls.get();
  start_oneshot(io.get_executor(), *t->parts, o, ctx,
                [t, start, tls = std::move(tls), done = std::move(done)](oneshot_result a) {
                  auto r = judge(*t, std::move(a));
                  r.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count();
                  r.latency_ms = static_cast<int32_t>(r.latency_us / 1000);
                  done(std::move(r));
                });
}

}  // namespace

health_prober::health_prober(io_pool& pool, std::shared_ptr<asio::ssl::context> tls)
    : pool_(pool), tls_(std::move(tls)) {}

void health_prober::probe(probe_request req, std::function<void(probe_result)> done) {
  auto& io = pool_.at(next_.fetch_add(1, std::memory_order_relaxed) % pool_.size());
  if (req.delay.count() <= 0) {
    // Started on its I/O thread: the connection's objects are only ever touched there.
    asio::post(io, [&io, req = std::move(req), tls = tls_, done = std::move(done)]() mutable {
      start_check(io, std::move(req), std::move(tls), std::move(done));
    });
    return;
  }
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
