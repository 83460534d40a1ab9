// ServerGroupClient: one io_context with its own thread(s); each call is a coroutine on its own
// strand with a watchdog timer (the call's deadline) and an optional stop callback. Idle
// keep-alive connections are pooled per controller as bare file descriptors (so any strand can
// adopt one), checked for a peer close before reuse.
#include "sgd/client/server_group_client.hpp"

#include "sgd/client/http_call.hpp"
#include "transport.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/error.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>

namespace sg::client {

using namespace detail;
using std::chrono::milliseconds;

namespace {

struct idle_conn {
  int fd = -1;
  tcp protocol = tcp::v4();
  clock::time_point since;
};

// True if the peer has not closed the connection and sent nothing unasked.
bool still_open(int fd) {
  char c;
  auto n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct controller {
  base_url url;
  mutable std::mutex m;  // guards everything below
  clock::time_point down_until{};
  std::string last_error;
  std::vector<idle_conn> idle;

  ~controller() {
    for (auto& c : idle) ::close(c.fd);
  }
};

std::string ms_text(milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

struct call_state : std::enable_shared_from_this<call_state> {
  call_state(net::any_io_executor ex) : io(ex), watchdog(ex) {}
  call_io io;
  net::steady_timer watchdog;
  clock::time_point deadline;
  milliseconds timeout{0};
  std::string method, target, body;
  header_list headers;
  ServerGroupClient::response_callback done;
  std::optional<std::stop_callback<std::function<void()>>> on_stop;
  std::string controller;  // the one being tried
};

struct ServerGroupClient::impl {
  client_options opts;
  std::vector<std::unique_ptr<controller>> ctls;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::mutex calls_m;
  std::unordered_set<call_state*> calls;
  bool closing = false;

  bool on_io_thread() const {
    auto me = std::this_thread::get_id();
    return std::any_of(threads.begin(), threads.end(), [&](auto& t) { return t.get_id() == me; });
  }

  // Up controllers in configured order, then the down ones (a last resort).
  std::vector<std::size_t> attempt_order() const {
    std::vector<std::size_t> up, down;
    auto now = clock::now();
    for (std::size_t i = 0; i < ctls.size(); ++i) {
      std::lock_guard lk(ctls[i]->m);
      (ctls[i]->down_until > now ? down : up).push_back(i);
    }
    up.insert(up.end(), down.begin(), down.end());
    return up;
  }

  void mark_down(controller& c, std::string why) {
    std::vector<idle_conn> drop;
    {
      std::lock_guard lk(c.m);
      c.down_until = clock::now() + opts.down_for;
      c.last_error = std::move(why);
      drop.swap(c.idle);
    }
    for (auto& d : drop) ::close(d.fd);
  }

  void mark_up(controller& c) {
    std::lock_guard lk(c.m);
    c.down_until = {};
  }

  // Adopts a pooled connection into io.stream; false if none is usable.
  bool take_idle(controller& c, call_io& io) {
    for (;;) {
      idle_conn conn;
      {
        std::lock_guard lk(c.m);
        if (c.idle.empty()) return false;
        conn = c.idle.back();
        c.idle.pop_back();
      }
      if (clock::now() - conn.since < opts.max_idle_age && still_open(conn.fd)) {
        beast::error_code ec;
        tcp::socket s(io.ex);
        s.assign(conn.protocol, conn.fd, ec);
        if (!ec) {
          io.stream.emplace(std::move(s));
          return true;
        }
      }
      ::close(conn.fd);
    }
  }

  void give_idle(controller& c, call_io& io) {
    if (!io.stream) return;
    auto sock = io.stream->release_socket();
    io.stream.reset();
    beast::error_code ec;
    auto ep = sock.remote_endpoint(ec);
    if (ec || opts.max_idle_per_controller == 0) return;  // closes
    idle_conn conn{sock.release(ec), ep.protocol(), clock::now()};
    if (ec) return;
    int drop = -1;
    {
      std::lock_guard lk(c.m);
      if (c.idle.size() >= opts.max_idle_per_controller) {
        drop = c.idle.front().fd;
        c.idle.erase(c.idle.begin());
      }
      c.idle.push_back(conn);
    }
    if (drop >= 0) ::close(drop);
  }

  std::optional<call_error> stop_error(const call_state& st) const {
    call_error e;
    e.controller = st.controller;
    if (st.io.cancelled) {
      e.kind = errc::cancelled;
      e.message = "the call was cancelled";
      return e;
    }
    if (st.io.timed_out || clock::now() >= st.deadline) {
      e.kind = errc::timeout;
      e.message = "no answer within " + ms_text(st.timeout) +
                  (st.controller.empty() ? std::string() : " from " + st.controller);
      return e;
    }
    return std::nullopt;
  }

  bool is_failover(const response& r) const {
    if (r.status != 503 && r.status != 418) return false;
    std::string code, message;
    if (!parse_error_body(r.body, code, message)) return false;
    return std::find(opts.failover_codes.begin(), opts.failover_codes.end(), code) !=
           opts.failover_codes.end();
  }

  net::awaitable<result<response>> attempt_all(call_state& st) {
    std::optional<response> last_refusal;  // a 503/418 "no node chosen" answer
    std::string unreachable;
    for (auto idx : attempt_order()) {
      auto& c = *ctls[idx];
      st.controller = c.url.text;
      if (auto e = stop_error(st)) co_return *e;
      auto req = make_request(st.method, c.url, st.target, st.body, opts.headers, st.headers);
      bool next_controller = false;
      while (!next_controller) {
        bool reused = take_idle(c, st.io);
        if (!reused) {
          auto left = std::chrono::duration_cast<milliseconds>(st.deadline - clock::now());
          auto err = co_await connect_to(st.io, c.url,
                                         std::max(milliseconds(1), std::min(opts.connect_timeout, left)));
          if (!err.empty()) {
            if (auto e = stop_error(st)) co_return *e;
            // Never connected: the request did not reach this controller.
            mark_down(c, err);
            unreachable += (unreachable.empty() ? "" : "; ") + c.url.text + ": " + err;
            next_controller = true;
            continue;
          }
        }
        auto out = co_await exchange(st.io, req, opts.max_response_bytes);
        if (out.ec) {
          st.io.stream.reset();
          if (auto e = stop_error(st)) co_return *e;
          if (reused && out.sent_nothing) continue;  // a stale pooled connection: try another
          call_error e;
          e.controller = c.url.text;
          if (out.ec == http::error::body_limit) {
            e.kind = errc::bad_response;
            e.message = "the answer from " + c.url.text + " is larger than " +
                        std::to_string(opts.max_response_bytes) + " bytes";
          } else {
            e.kind = errc::connection_lost;
            e.message = "connection to " + c.url.text + " lost " +
                        (out.in_read ? "before the answer" : "while sending") +
                        " (the request may have been processed): " + describe(out.ec);
          }
          co_return e;
        }
        out.res.controller = c.url.text;
        if (out.keep_alive)
          give_idle(c, st.io);
        else
          st.io.stream.reset();
        if (is_failover(out.res)) {
          // sgd chose no node (or drains): nothing ran, another controller may do better.
          mark_down(c, std::to_string(out.res.status) + " " + clip(out.res.body, 200));
          last_refusal = std::move(out.res);
          next_controller = true;
          continue;
        }
        mark_up(c);
        co_return std::move(out.res);
      }
    }
    if (last_refusal) co_return std::move(*last_refusal);
    call_error e;
    e.kind = errc::unreachable;
    e.message = "no controller accepted a connection: " + unreachable;
    co_return e;
  }

  net::awaitable<void> run(std::shared_ptr<call_state> st) {
    std::weak_ptr<call_state> weak = st;
    st->watchdog.expires_at(st->deadline);
    st->watchdog.async_wait([weak](beast::error_code ec) {
      if (ec) return;
      if (auto s = weak.lock()) {
        s->io.timed_out = true;
        s->io.abort();
      }
    });
    std::optional<result<response>> r;
    try {
      r.emplace(co_await attempt_all(*st));
    } catch (const std::exception& x) {
      call_error e;
      e.kind = errc::bad_response;
      e.message = std::string("internal error: ") + x.what();
      r.emplace(std::move(e));
    }
    st->watchdog.cancel();
    st->io.stream.reset();
    finish(*st, std::move(*r));
  }

  void finish(call_state& st, result<response> r) {
    {
      std::lock_guard lk(calls_m);
      calls.erase(&st);
    }
    auto done = std::move(st.done);
    st.on_stop.reset();
    try {
      done(std::move(r));
    } catch (...) {
      // Callbacks must not throw; there is nobody to report it to.
    }
  }

  void start(std::string_view method, std::string_view group, std::string_view endpoint,
             std::string body, call_options copts, response_callback done) {
    auto st = std::make_shared<call_state>(net::make_strand(ioc));
    st->timeout = copts.timeout.value_or(opts.timeout);
    st->deadline = clock::now() + st->timeout;
    st->method = std::string(method);
    std::string ep(endpoint);
    if (ep.empty() || ep[0] != '/') ep.insert(ep.begin(), '/');
    st->target = "/groups/" + std::string(group) + ep;
    st->body = std::move(body);
    st->headers = std::move(copts.headers);
    st->done = std::move(done);

    call_error bad;
    bad.kind = errc::invalid_argument;
    if (!valid_group(group))
      bad.message = "bad group name '" + clip(group, 140) + "' (expected [A-Za-z0-9._-]{1,128})";
    else if (!valid_target(ep))
      bad.message = "bad endpoint '" + clip(endpoint, 200) + "' (spaces or control characters)";
    else if (method.empty() || !valid_target(method))
      bad.message = "bad method '" + clip(method, 40) + "'";
    bool rejected = !bad.message.empty();
    {
      std::lock_guard lk(calls_m);
      if (closing && !rejected) {
        bad.kind = errc::cancelled;
        bad.message = "the client is shutting down";
        rejected = true;
      }
      if (!rejected) calls.insert(st.get());
    }
    if (rejected) {
      net::post(st->io.ex, [st, bad]() mutable {
        auto done = std::move(st->done);
        try {
          done(std::move(bad));
        } catch (...) {
        }
      });
      return;
    }
    if (copts.stop.stop_possible()) {
      std::weak_ptr<call_state> weak = st;
      st->on_stop.emplace(copts.stop, std::function<void()>([weak] {
                            if (auto s = weak.lock())
                              net::post(s->io.ex, [s] {
                                s->io.cancelled = true;
                                s->io.abort();
                              });
                          }));
    }
    net::co_spawn(st->io.ex, run(st), net::detached);
  }
};

ServerGroupClient::ServerGroupClient(std::string controller_url, client_options opts)
    : ServerGroupClient(std::vector<std::string>{std::move(controller_url)}, std::move(opts)) {}

ServerGroupClient::ServerGroupClient(std::vector<std::string> urls, client_options opts)
    : impl_(std::make_unique<impl>()) {
  if (urls.empty()) throw std::invalid_argument("ServerGroupClient: no controller URL");
  impl_->opts = std::move(opts);
  for (auto& u : urls) {
    auto c = std::make_unique<controller>();
    std::string err;
    if (!parse_base_url(u, c->url, err)) throw std::invalid_argument("ServerGroupClient: " + err);
    impl_->ctls.push_back(std::move(c));
  }
  impl_->work.emplace(impl_->ioc.get_executor());
  auto n = std::max(1u, impl_->opts.io_threads);
  for (unsigned i = 0; i < n; ++i)
    impl_->threads.emplace_back([io = impl_.get()] {
      for (;;) {
        try {
          io->ioc.run();
          return;
        } catch (...) {
          // A handler threw (none should): keep the thread serving the other calls.
        }
      }
    });
}

ServerGroupClient::~ServerGroupClient() {
  {
    std::lock_guard lk(impl_->calls_m);
    impl_->closing = true;
    for (auto* c : impl_->calls) {
      auto s = c->shared_from_this();
      net::post(s->io.ex, [s] {
        s->io.cancelled = true;
        s->io.abort();
        s->watchdog.cancel();
      });
    }
  }
  impl_->work.reset();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

namespace {

ServerGroupClient::json_result to_json_result(result<response> r) {
  if (!r) return r.error();
  auto& res = r.value();
  if (res.status < 200 || res.status >= 300) return api_error(res);
  rapidjson::Document d;
  if (res.body.find_first_not_of(" \t\r\n") == std::string::npos) return d;  // null
  d.Parse<rapidjson::kParseIterativeFlag>(res.body.data(), res.body.size());
  if (d.HasParseError()) {
    call_error e;
    e.kind = errc::bad_response;
    e.status = res.status;
    e.controller = res.controller;
    e.body = clip(res.body, 64 * 1024);
    e.message = "the " + std::to_string(res.status) + " answer is not JSON (error at offset " +
                std::to_string(d.GetErrorOffset()) + ")";
    return e;
  }
  return d;
}

call_error sync_on_io_thread() {
  call_error e;
  e.kind = errc::invalid_argument;
  e.message = "a synchronous call from the client's own I/O thread would deadlock";
  return e;
}

}  // namespace

ServerGroupClient::json_result ServerGroupClient::post(std::string_view group,
                                                       std::string_view endpoint,
                                                       std::string_view json,
                                                       const call_options& opts) {
  if (impl_->on_io_thread()) return sync_on_io_thread();
  return post_async(group, endpoint, std::string(json), opts).get();
}

ServerGroupClient::json_result ServerGroupClient::post(std::string_view group,
                                                       std::string_view endpoint,
                                                       const rapidjson::Value& json,
                                                       const call_options& opts) {
  return post(group, endpoint, to_json(json), opts);
}

std::future<ServerGroupClient::json_result> ServerGroupClient::post_async(
    std::string_view group, std::string_view endpoint, std::string json, call_options opts) {
  auto p = std::make_shared<std::promise<json_result>>();
  auto f = p->get_future();
  post_async(group, endpoint, std::move(json), std::move(opts),
             [p](json_result r) { p->set_value(std::move(r)); });
  return f;
}

void ServerGroupClient::post_async(std::string_view group, std::string_view endpoint,
                                   std::string json, call_options opts, json_callback done) {
  rapidjson::Document check;
  check.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (check.HasParseError()) {
    call_error e;
    e.kind = errc::invalid_argument;
    e.message = "the request body is not JSON (error at offset " +
                std::to_string(check.GetErrorOffset()) + ")";
    auto cb = std::make_shared<json_callback>(std::move(done));
    net::post(impl_->ioc, [cb, e]() mutable { (*cb)(std::move(e)); });
    return;
  }
  impl_->start("POST", group, endpoint, std::move(json), std::move(opts),
               [done = std::move(done)](result<response> r) {
                 done(to_json_result(std::move(r)));
               });
}

result<response> ServerGroupClient::send(std::string_view method, std::string_view group,
                                         std::string_view endpoint, std::string body,
                                         const call_options& opts) {
  if (impl_->on_io_thread()) return sync_on_io_thread();
  auto p = std::make_shared<std::promise<result<response>>>();
  auto f = p->get_future();
  impl_->start(method, group, endpoint, std::move(body), opts,
               [p](result<response> r) { p->set_value(std::move(r)); });
  return f.get();
}

void ServerGroupClient::send_async(std::string_view method, std::string_view group,
                                   std::string_view endpoint, std::string body,
                                   call_options opts, response_callback done) {
  impl_->start(method, group, endpoint, std::move(body), std::move(opts), std::move(done));
}

std::vector<controller_state> ServerGroupClient::controllers() const {
  std::vector<controller_state> out;
  auto now = clock::now();
  for (auto& c : impl_->ctls) {
    std::lock_guard lk(c->m);
    out.push_back({c->url.text, c->down_until > now, c->down_until, c->last_error,
                   c->idle.size()});
  }
  return out;
}

}  // namespace sg::client
