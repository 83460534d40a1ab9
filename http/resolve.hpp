#pragma once
// Name resolution bounded by a deadline, for connections to nodes (the proxy's and the one-shot
// client's): asio's resolver alone waits as long as getaddrinfo does.
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>

namespace sg::http {

using resolve_results = boost::asio::ip::tcp::resolver::results_type;

// getaddrinfo cannot be cancelled (asio runs it on its resolver thread), so a timer races it and
// whichever completes first answers; the loser finds the handler gone and does nothing. A DNS
// server that never answers costs the caller its deadline, no more. Both completions run on the
// caller's io_context thread, so the handler slot needs no lock. The caller's frame (and with it
// the timer) may be gone as soon as the handler runs: everything else happens before.
template <class Token>
auto async_resolve_within(boost::asio::ip::tcp::resolver& resolver,
                          boost::asio::steady_timer& timer, std::string host, std::string port,
                          Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code, resolve_results)>(
      [&resolver, &timer](auto handler, std::string host, std::string port) {
        using handler_t = decltype(handler);
        auto slot = std::make_shared<std::optional<handler_t>>(std::move(handler));
        auto take = [slot] {
          auto h = std::move(**slot);
          slot->reset();
          return h;
        };
        resolver.async_resolve(
            host, port, [slot, take, &timer](boost::system::error_code ec, resolve_results r) {
              if (!*slot) return;
              timer.cancel();
              take()(ec, std::move(r));
            });
        timer.async_wait([slot, take](boost::system::error_code ec) {
          if (ec || !*slot) return;
          take()(boost::asio::error::timed_out, resolve_results{});
        });
      },
      token, std::move(host), std::move(port));
}

}  // namespace sg::http
