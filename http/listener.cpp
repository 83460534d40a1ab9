#include "http/listener.hpp"

#include "metrics/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

namespace sg::http {

namespace asio = boost::asio;

listener::listener(io_pool& pool, session_fn session) : pool_(pool), session_(std::move(session)) {}

std::string listener::bind(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return "'" + host + "' is not an IP address";
  // One acceptor, no SO_REUSEPORT: a second process can never bind the same port and silently
  // take half the connections. Accepted sockets are handed to the I/O threads in turn.
  tcp::endpoint ep{addr, port};
  auto acc = std::make_unique<tcp::acceptor>(pool_.at(0));
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
  port_ = acc->local_endpoint().port();
  acceptors_.push_back(std::move(acc));
  return {};
}

void listener::start() {
  asio::co_spawn(
      pool_.at(0), [self = shared_from_this()] { return self->accept_loop(0); }, asio::detached);
}

void listener::stop() {
  for (auto& acc : acceptors_)
    asio::post(acc->get_executor(), [this, self = shared_from_this(), a = acc.get()] {
      boost::system::error_code ec;
      // Serve what already sits in the accept queue: closing would reset those connections.
      a->non_blocking(true, ec);
      size_t next = 0;
      for (;;) {
        tcp::socket s(pool_.at(next++ % pool_.size()));
        a->accept(s, ec);
        if (ec) break;
        serve(std::move(s));
      }
      a->close(ec);
    });
}

asio::awaitable<void> listener::accept_loop(size_t) {
  auto& acc = *acceptors_[0];
  size_t next = 0;
  for (;;) {
    auto& io = pool_.at(next++ % pool_.size());
    // Accepting straight onto the target thread's context: the socket belongs to it.
    auto [ec, sock] = co_await acc.async_accept(io, asio::as_tuple(asio::use_awaitable));
    if (!acc.is_open()) {
      if (!ec) serve(std::move(sock));  // accepted while stop() closed the acceptor
      co_return;
    }
    if (ec) {
      // Out of fds and similar: log, back off briefly, keep serving the connections we have.
      log::warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer t{pool_.at(0), std::chrono::milliseconds(50)};
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    serve(std::move(sock));
  }
}

void listener::serve(tcp::socket sock) {
  // Answers are written as they are ready; Nagle would hold a body behind its header until the
  // client's delayed ACK (~40 ms per keep-alive request).
  boost::system::error_code ec;
  sock.set_option(tcp::no_delay(true), ec);
  auto ex = sock.get_executor();
  // An exception escaping a session ends that connection, logged, never the process.
  asio::co_spawn(ex, session_(std::move(sock)), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log::error("connection ended by an exception", {{"error", x.what()}});
    } catch (...) {
      log::error("connection ended by an exception", {});
    }
  });
}

bool split_host_port(const std::string& text, std::string& host, uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned v = 0;
  auto p = text.data() + colon + 1, e = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(p, e, v);
  if (ec != std::errc{} || ptr != e || v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace sg::http
