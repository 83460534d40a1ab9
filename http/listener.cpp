#include "http/listener.hpp"

#include "metrics/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

namespace sg::http {

namespace asio = boost::asio;

listener::listener(asio::io_context& io, session_fn session)
    : io_(io), acceptor_(io), session_(std::move(session)) {}

std::string listener::bind(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return "'" + host + "' is not an IP address";
  tcp::endpoint ep{addr, port};
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
  port_ = acceptor_.local_endpoint().port();
  return {};
}

void listener::start() {
  asio::co_spawn(io_, [self = shared_from_this()] { return self->accept_loop(); }, asio::detached);
}

void listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> listener::accept_loop() {
  for (;;) {
    auto [ec, sock] = co_await acceptor_.async_accept(asio::make_strand(io_),
                                                       asio::as_tuple(asio::use_awaitable));
    if (!acceptor_.is_open()) co_return;
    if (ec) {
      // Out of fds and similar: log, back off briefly, keep serving the connections we have.
      log::warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer t{io_, std::chrono::milliseconds(50)};
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    auto ex = sock.get_executor();
    asio::co_spawn(ex, session_(std::move(sock)), asio::detached);
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
