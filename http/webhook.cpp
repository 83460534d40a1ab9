#include "http/webhook.hpp"

#include "http/oneshot.hpp"
#include "metrics/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sg::http {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int max_pending = 256;

asio::awaitable<void> deliver(url_parts u, std::string body,
                              std::shared_ptr<asio::ssl::context> tls,
                              std::shared_ptr<std::atomic<int>> pending) {
  auto ex = co_await asio::this_coro::executor;
  oneshot_request req;
  req.method = boost::beast::http::verb::post;
  req.user_agent = "sgd-alerts";
  req.content_type = "application/json";
  req.body = body;
  req.timeout = 5s;
  std::string last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt) {
      asio::steady_timer t{ex, attempt == 1 ? 200ms : 1s};
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    auto a = co_await send_oneshot(u, req, tls.get());
    if (a.status >= 200 && a.status < 300) {
      --*pending;
      co_return;
    }
    last = a.status ? "HTTP " + std::to_string(a.status) : a.error;
  }
  --*pending;
  log::warn("alert webhook failed", {{"host", u.host}, {"error", last}});
}

}  // namespace

webhook_sender::webhook_sender(io_pool& pool, url_parts target,
                               std::shared_ptr<asio::ssl::context> tls)
    : pool_(pool), target_(std::move(target)), tls_(std::move(tls)) {}

bool webhook_sender::push(const event& e) {
  if (pending_->load() >= max_pending) {
    log::warn("alert webhook backlog full, event dropped",
              {{"event", e.type}, {"node", e.node_id}});
    return true;
  }
  ++*pending_;
  asio::co_spawn(pool_.at(e.seq % pool_.size()), deliver(target_, to_json(e), tls_, pending_),
                 asio::detached);
  return true;
}

}  // namespace sg::http
