#include "http/event_stream.hpp"

#include "actors/event_hub.hpp"
#include "actors/messages.hpp"
#include "http/actor_ask.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <caf/send.hpp>

#include <deque>
#include <mutex>

namespace sg::http {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr size_t max_queued = 1000;
constexpr auto heartbeat = 15s;

// Queues events from the hub's thread and wakes the session's coroutine on its own thread.
class sse_sink : public event_sink, public std::enable_shared_from_this<sse_sink> {
 public:
  explicit sse_sink(asio::any_io_executor ex) : timer_(ex) {}

  bool push(const event& e) override {
    std::lock_guard<std::mutex> g{mutex_};
    if (closed_) return false;
    if (queue_.size() >= max_queued) {
      overflow_ = true;
      return false;
    }
    queue_.push_back("id: " + std::to_string(e.seq) + "\nevent: " + e.type +
                     "\ndata: " + to_json(e) + "\n\n");
    asio::post(timer_.get_executor(), [self = weak_from_this()] {
      if (auto s = self.lock()) s->timer_.cancel();
    });
    return true;
  }

  // Takes everything queued; false once the client fell too far behind.
  bool take(std::string& out) {
    std::lock_guard<std::mutex> g{mutex_};
    for (auto& m : queue_) out += m;
    queue_.clear();
    return !overflow_;
  }

  void close() {
    std::lock_guard<std::mutex> g{mutex_};
    closed_ = true;
  }

  asio::steady_timer timer_;

 private:
  std::mutex mutex_;
  std::deque<std::string> queue_;
  bool overflow_ = false;
  bool closed_ = false;
};

}  // namespace

asio::awaitable<void> stream_events(boost::beast::tcp_stream& stream, caf::actor_system& sys,
                                    caf::actor hub, uint64_t since) {
  auto ex = co_await asio::this_coro::executor;
  auto sink = std::make_shared<sse_sink>(ex);
  static constexpr std::string_view head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Connection: close\r\n\r\n: sgd events\n\n";
  stream.expires_after(30s);
  if (auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head),
                                                asio::as_tuple(asio::use_awaitable));
      ec)
    co_return;
  auto id = co_await ask<uint64_t>(sys, hub, 5s, subscribe_atom::value,
                                   std::static_pointer_cast<event_sink>(sink), since);
  if (!id) co_return;
  for (;;) {
    std::string out;
    bool ok = sink->take(out);
    if (!ok) break;  // fell behind: the client reconnects with Last-Event-ID
    if (out.empty()) {
      sink->timer_.expires_after(heartbeat);
      auto [ec] = co_await sink->timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (!ec)
        out = ": keep-alive\n\n";  // timer expired: a comment keeps proxies from idling out
      else
        continue;  // woken by an event
    }
    stream.expires_after(30s);
    auto [wec, wn] =
        co_await asio::async_write(stream, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
    if (wec) break;
  }
  sink->close();
  caf::anon_send(hub, unsubscribe_atom::value, *id);
}

}  // namespace sg::http
