#pragma once
// --alert-webhook: POSTs each event as JSON to an operator's URL from the I/O threads. At most
// 256 deliveries wait at once (older ones are dropped and logged); each is tried 3 times with
// backoff and a 5 s timeout. Routing never waits on it.
#include "actors/event_hub.hpp"
#include "actors/url.hpp"
#include "http/io_pool.hpp"

#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <memory>

namespace sg::http {

class webhook_sender : public event_sink {
 public:
  webhook_sender(io_pool& pool, url_parts target, std::shared_ptr<boost::asio::ssl::context> tls);
  bool push(const event& e) override;

 private:
  io_pool& pool_;
  url_parts target_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::shared_ptr<std::atomic<int>> pending_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace sg::http
