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

}  // namespace

// One node's checks on one I/O thread: the timer between them, the jitter, and where results go.
struct subscription {
  subscription(asio::io_context& io, probe_request r, std::function<void(probe_result)> d,
               std::shared_ptr<asio::ssl::context> t, result_batch& b)
      : timer(io), req(std::move(r)), done(std::move(d)), tls(std::move(t)), batch(b) {
    rng.seed(req.jitter_seed ? req.jitter_seed : 1);
  }
  bool cancelled() const { return req.cancelled && req.cancelled->load(std::memory_order_relaxed); }
  asio::steady_timer timer;
  probe_request req;
  std::function<void(probe_result)> done;
  std::shared_ptr<asio::ssl::context> tls;
  result_batch& batch;
  std::minstd_rand rng;
  std::chrono::steady_clock::time_point started{};
};

namespace {

void run_check(const std::shared_ptr<subscription>& s);

void schedule(const std::shared_ptr<subscription>& s, std::chrono::milliseconds delay) {
  if (s->cancelled()) return;  // the last reference goes with this handler
  if (delay.count() <= 0) return run_check(s);
  s->timer.expires_after(delay);
  s->timer.async_wait([s](const boost::system::error_code& ec) {
    if (!ec) run_check(s);
  });
}

void run_check(const std::shared_ptr<subscription>& s) {
  if (s->cancelled()) return;
  s->started = std::chrono::steady_clock::now();
  auto& t = *s->req.target;
  auto finished = [s](probe_result r) {
    auto now = std::chrono::steady_clock::now();
    r.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(now - s->started).count();
    r.latency_ms = static_cast<int32_t>(r.latency_us / 1000);
    if (!s->cancelled()) s->batch.add(s, std::move(r));
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(now - s->started);
    schedule(s, next_check_delay(s->req.target->settings.interval_ms, s->rng, since));
  };
  if (!t.parts) {
    probe_result r;
    r.error = "health URL is not an absolute http(s) URL";
    return finished(std::move(r));
  }
  auto& h = t.settings;
  oneshot_request o;
  o.connect_only = h.type == check_type::tcp;
  o.user_agent = "sgd-health-check";
  o.timeout = std::chrono::milliseconds(h.timeout_ms);
  // 3 bytes more than the excerpt keeps: a character the read cut off is dropped whole.
  o.keep_body = h.expect_body.empty() ? body_excerpt_bytes + 3 : expect_body_window;
  start_oneshot(s->timer.get_executor(), *t.parts, o, s->tls.get(),
                [s, finished](oneshot_result a) { finished(judge(*s->req.target, std::move(a))); });
}

}  // namespace

result_batch::result_batch(asio::io_context& io) : timer_(io) {}

void result_batch::add(std::shared_ptr<subscription> s, probe_result r) {
  pending_.emplace_back(std::move(s), std::move(r));
  if (pending_.size() > 1) return;
  // The first result arms the flush; the ones arriving meanwhile go with it.
  timer_.expires_after(flush_after);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) flush();
  });
}

void result_batch::flush() {
  auto items = std::move(pending_);
  pending_.clear();
  for (auto& [s, r] : items)
    if (!s->cancelled()) s->done(std::move(r));
  items.clear();
  if (pending_.empty()) pending_.swap(items);  // keep the capacity
}

health_prober::health_prober(io_pool& pool, std::shared_ptr<asio::ssl::context> tls)
    : pool_(pool), tls_(std::move(tls)) {
  for (size_t i = 0; i < pool_.size(); ++i)
    batches_.push_back(std::make_unique<result_batch>(pool_.at(i)));
}

health_prober::~health_prober() = default;

void health_prober::probe(probe_request req, std::function<void(probe_result)> done) {
  auto i = next_.fetch_add(1, std::memory_order_relaxed) % pool_.size();
  auto& io = pool_.at(i);
  // Everything of a subscription lives on its I/O thread: the request is handed over once.
  asio::post(io, [&io, &batch = *batches_[i], req = std::move(req), tls = tls_,
                  done = std::move(done)]() mutable {
    auto delay = req.delay;
    auto s =
        std::make_shared<subscription>(io, std::move(req), std::move(done), std::move(tls), batch);
    schedule(s, delay);
  });
}

}  // namespace sg::http
