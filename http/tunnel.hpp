#pragma once
// After a 101 Switching Protocols (a WebSocket, say) the two connections become one tunnel:
// bytes are copied both ways until both sides have closed, or nothing moved for `idle`. Neither
// connection goes back to a pool.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <chrono>
#include <memory>

namespace sg::http {

namespace tunnel_detail {
constexpr auto tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);
using clock = std::chrono::steady_clock;

template <class From, class To>
boost::asio::awaitable<void> copy(From& from, To& to, boost::beast::tcp_stream& to_tcp,
                                  clock::time_point& last) {
  std::array<char, 16 * 1024> buf;
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(boost::asio::buffer(buf), tuple_awaitable);
    if (n) {
      last = clock::now();
      auto [wec, wn] = co_await boost::asio::async_write(to, boost::asio::buffer(buf.data(), n),
                                                         tuple_awaitable);
      if (wec) break;
    }
    if (ec) break;
  }
  boost::system::error_code ignored;  // half-close: the other side sees the end of this one
  to_tcp.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
}
}  // namespace tunnel_detail

template <class A, class B>
boost::asio::awaitable<void> tunnel(A& a, boost::beast::tcp_stream& a_tcp, B& b,
                                    boost::beast::tcp_stream& b_tcp,
                                    std::chrono::milliseconds idle) {
  using namespace tunnel_detail;
  using namespace boost::asio::experimental::awaitable_operators;
  auto last = clock::now();
  auto timer = std::make_shared<boost::asio::steady_timer>(a_tcp.get_executor());
  bool over = false;
  // The watchdog closes both sockets when the tunnel has been idle too long; the copies end.
  auto watchdog = [&]() -> boost::asio::awaitable<void> {
    while (!over) {
      timer->expires_at(last + idle);
      co_await timer->async_wait(tuple_awaitable);
      if (!over && clock::now() - last >= idle) {
        boost::system::error_code ignored;
        a_tcp.socket().close(ignored);
        b_tcp.socket().close(ignored);
        break;
      }
    }
  };
  co_await ((copy(a, b, b_tcp, last) && copy(b, a, a_tcp, last)) || watchdog());
  over = true;
}

}  // namespace sg::http
