#include "http/webhook.hpp"

#include "actors/url.hpp"
#include "http/upstream.hpp"
#include "metrics/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace sg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

namespace {

constexpr int max_pending = 256;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

template <class Stream>
asio::awaitable<int> post_once(Stream& s, plain_stream& tcp, const url_parts& u,
                               const std::string& body) {
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, u.path.empty() ? "/" : u.path, 11};
  req.set(bhttp::field::host, host_header(u));
  req.set(bhttp::field::content_type, "application/json");
  req.set(bhttp::field::user_agent, "sgd-alerts");
  req.set(bhttp::field::connection, "close");
  req.body() = body;
  req.prepare_payload();
  tcp.expires_after(5s);
  if (auto [ec, n] = co_await bhttp::async_write(s, req, tuple_awaitable); ec) co_return 0;
  bhttp::response_parser<bhttp::string_body> p;
  p.body_limit(64 * 1024);
  beast::flat_buffer buf;
  auto [ec, n] = co_await bhttp::async_read_header(s, buf, p, tuple_awaitable);
  co_return ec ? 0 : static_cast<int>(p.get().result_int());
}

asio::awaitable<void> deliver(url_parts u, std::string body,
                              std::shared_ptr<asio::ssl::context> tls,
                              std::shared_ptr<std::atomic<int>> pending) {
  auto ex = co_await asio::this_coro::executor;
  std::string last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt) {
      asio::steady_timer t{ex, attempt == 1 ? 200ms : 1s};
      co_await t.async_wait(tuple_awaitable);
    }
    auto c = co_await connect_upstream(u, 5s, tls.get());
    if (!c.conn) {
      last = c.error;
      continue;
    }
    auto& conn = *c.conn;
    int st = co_await std::visit([&](auto& s) { return post_once(s, conn.tcp(), u, body); },
                                 conn.stream);
    if (st >= 200 && st < 300) {
      --*pending;
      co_return;
    }
    last = st ? "HTTP " + std::to_string(st) : "no answer";
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
