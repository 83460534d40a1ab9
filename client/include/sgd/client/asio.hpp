// Asio completion-token form of ServerGroupClient::post_async: co_await it, give it a
// callback, use_future, ... The handler runs on its associated executor (the coroutine's, or
// `fallback` for a plain callback), and its associated cancellation slot cancels the call
// (e.g. `co_await (async_post(...) || timer.async_wait(...))`).
//
//   auto r = co_await sg::client::async_post(client, "inference-cluster", "/infer",
//                                            R"({"prompt":"hi"})", {}, asio::use_awaitable);
#pragma once

#include "sgd/client/server_group_client.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/system_executor.hpp>

#include <memory>
#include <stop_token>
#include <string>
#include <utility>

namespace sg::client {

template <class Token, class Executor = boost::asio::system_executor>
auto async_post(ServerGroupClient& client, std::string group, std::string endpoint,
                std::string json, call_options opts, Token&& token,
                const Executor& fallback = Executor()) {
  using json_result = ServerGroupClient::json_result;
  auto init = [&client, fallback](auto handler, std::string group, std::string endpoint,
                                  std::string json, call_options opts) {
    using handler_t = decltype(handler);
    auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler, fallback),
                                  boost::asio::execution::outstanding_work.tracked);
    // Cancellation from either the slot or the caller's own stop token.
    auto stop = std::make_shared<std::stop_source>();
    auto user_stop = std::make_shared<std::stop_callback<std::function<void()>>>(
        opts.stop, std::function<void()>([stop] { stop->request_stop(); }));
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected())
      slot.assign([stop](boost::asio::cancellation_type) { stop->request_stop(); });
    opts.stop = stop->get_token();
    auto h = std::make_shared<handler_t>(std::move(handler));
    client.post_async(group, endpoint, std::move(json), std::move(opts),
                      [h, ex, stop, user_stop](json_result r) mutable {
                        auto rp = std::make_shared<json_result>(std::move(r));
                        boost::asio::post(ex, [h, rp, stop, user_stop]() mutable {
                          auto s = boost::asio::get_associated_cancellation_slot(*h);
                          if (s.is_connected()) s.clear();
                          user_stop.reset();
                          std::move(*h)(std::move(*rp));
                        });
                      });
  };
  return boost::asio::async_initiate<Token, void(json_result)>(
      std::move(init), token, std::move(group), std::move(endpoint), std::move(json),
      std::move(opts));
}

}  // namespace sg::client
