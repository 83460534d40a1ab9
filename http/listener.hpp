#pragma once
// A TCP acceptor that starts one coroutine per connection on its own strand. Shared by the admin
// API and the proxy; stop() closes the acceptor so no new connections are taken.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

namespace sg::http {

using tcp = boost::asio::ip::tcp;

class listener : public std::enable_shared_from_this<listener> {
 public:
  using session_fn = std::function<boost::asio::awaitable<void>(tcp::socket)>;

  listener(boost::asio::io_context& io, session_fn session);
  // Binds and listens; "" or an error naming the address. Port 0 picks a free port.
  std::string bind(const std::string& host, uint16_t port);
  void start();
  void stop();
  uint16_t port() const { return port_; }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::io_context& io_;
  tcp::acceptor acceptor_;
  session_fn session_;
  uint16_t port_ = 0;
};

// Splits "host:port" (host may be [v6]); false when malformed.
bool split_host_port(const std::string& text, std::string& host, uint16_t& port);

}  // namespace sg::http
