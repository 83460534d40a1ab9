#pragma once
// A listening address served by every thread of an io_pool: one acceptor hands accepted
// connections to the threads in turn; each connection runs as one coroutine on its thread.
// stop() closes the acceptor: no new connections.
#include "http/io_pool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sg::http {

using tcp = boost::asio::ip::tcp;

class listener : public std::enable_shared_from_this<listener> {
 public:
  using session_fn = std::function<boost::asio::awaitable<void>(tcp::socket)>;

  listener(io_pool& pool, session_fn session);
  // Binds and listens; "" or an error naming the address. Port 0 picks a free port.
  std::string bind(const std::string& host, uint16_t port);
  void start();
  void stop();
  uint16_t port() const { return port_; }

 private:
  boost::asio::awaitable<void> accept_loop(size_t i);
  void serve(tcp::socket sock);  // TCP_NODELAY, then the session on the socket's own thread
  io_pool& pool_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  session_fn session_;
  uint16_t port_ = 0;
};

// Splits "host:port" (host may be [v6]); false when malformed.
bool split_host_port(const std::string& text, std::string& host, uint16_t& port);

}  // namespace sg::http
