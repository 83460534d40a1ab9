#include "http/listener.hpp"

#include "metrics/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <charconv>

namespace sg::http {

namespace asio = boost::asio;

listener::listener(io_pool& pool, session_fn session) : pool_(pool), session_(std::move(session)) {}

std::string listener::bind(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return "'" + host + "' is not an IP address";
  for (size_t i = 0; i < pool_.size(); ++i) {
    // The first acceptor may pick the port (port 0); the others share it via SO_REUSEPORT.
    tcp::endpoint ep{addr, i == 0 ? port : port_};
    auto acc = std::make_unique<tcp::acceptor>(pool_.at(i));
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = boost::system::error_code(errno, boost::system::system_category());
    }
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return "cannot listen on " + host + ":" + std::to_string(ep.port()) + ": " + ec.message();
    if (i == 0) port_ = acc->local_endpoint().port();
    acceptors_.push_back(std::move(acc));
  }
  return {};
}

void listener::start() {
  for (size_t i = 0; i < acceptors_.size(); ++i)
    asio::co_spawn(pool_.at(i), [self = shared_from_this(), i] { return self->accept_loop(i); },
                   asio::detached);
}

void listener::stop() {
  for (auto& acc : acceptors_)
    asio::post(acc->get_executor(), [a = acc.get()] {
      boost::system::error_code ec;
      a->close(ec);
    });
}

asio::awaitable<void> listener::accept_loop(size_t i) {
  auto& acc = *acceptors_[i];
  for (;;) {
    auto [ec, sock] = co_await acc.async_accept(asio::as_tuple(asio::use_awaitable));
    if (!acc.is_open()) co_return;
    if (ec) {
      // Out of fds and similar: log, back off briefly, keep serving the connections we have.
      log::warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer t{pool_.at(i), std::chrono::milliseconds(50)};
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    // Answers are written as they are ready; Nagle would hold a body behind its header until
    // the client's delayed ACK (~40 ms per keep-alive request).
    boost::system::error_code nec;
    sock.set_option(tcp::no_delay(true), nec);
    asio::co_spawn(pool_.at(i), session_(std::move(sock)), asio::detached);
  }
}

bool split_host_port(const std::string& text, std::string& host, uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned v = 0;
  auto p = text.data() + colon + 1, e = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(p, e, v);
  if (ec != std::errc{} || ptr != e || v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace sg::http
