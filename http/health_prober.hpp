#pragma once
// Active health checks on the I/O threads, one one-shot request each: an http check is judged by
// the group's expectations (judge_http: expected statuses and body, 418 drains), a tcp check
// passes when the port accepts. Implements the prober interface node actors use, so actors never
// block on the network.
#include "actors/prober.hpp"
#include "http/io_pool.hpp"

#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <memory>

namespace sg::http {

class health_prober : public prober {
 public:
  health_prober(io_pool& pool, std::shared_ptr<boost::asio::ssl::context> tls);
  void probe(probe_request req, std::function<void(probe_result)> done) override;

 private:
  io_pool& pool_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::atomic<size_t> next_{0};
};

}  // namespace sg::http
