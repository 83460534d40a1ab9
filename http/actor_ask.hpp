#pragma once
// The bridge from a Beast coroutine to an actor: sends a request with a timeout from a short-lived
// actor and resumes the coroutine on its own executor with the reply or the error. The I/O thread
// never blocks on an actor.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <memory>

namespace sg::http {

// Marks a request whose reply is empty (a handler returning void).
struct no_reply {};

// `Handle` is caf::actor or a typed handle (e.g. registry_api): with a typed one the request and
// T are checked against its interface at compile time.
template <class T, class Handle, class... Ts>
boost::asio::awaitable<caf::expected<T>> ask(caf::actor_system& sys, Handle dest,
                                             std::chrono::milliseconds timeout, Ts... xs) {
  namespace asio = boost::asio;
  auto initiate = [&sys, dest, timeout, xs...](auto handler) mutable {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    auto finish = [h](caf::expected<T> r) {
      auto ex = asio::get_associated_executor(*h);
      asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
    };
    // The unused int: CAF 0.17 binds a null tuple pointer for a spawn without arguments (UBSan
    // "reference binding to null pointer"); one argument avoids that path.
    sys.spawn(
        [=](caf::event_based_actor* self, int) {
          if constexpr (std::is_same_v<T, no_reply>) {
            self->request(dest, timeout, xs...)
                .then([=]() { finish(no_reply{}); }, [=](caf::error& e) { finish(std::move(e)); });
          } else {
            self->request(dest, timeout, xs...)
                .then([=](T& r) { finish(std::move(r)); },
                      [=](caf::error& e) { finish(std::move(e)); });
          }
        },
        0);
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(caf::expected<T>)>(
      std::move(initiate), asio::use_awaitable);
}

}  // namespace sg::http
