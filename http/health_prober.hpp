#pragma once
// Active health checks on the I/O threads, one one-shot request each: an http check is judged by
// the group's expectations (judge_http: expected statuses and body, 418 drains), a tcp check
// passes when the port accepts. Implements the prober interface node actors use, so actors never
// block on the network.
#include "actors/prober.hpp"
#include "http/io_pool.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <utility>
#include <vector>

namespace sg::http {

struct subscription;

// Results of one I/O thread's checks, handed to the node actors together every few
// milliseconds: a burst of messages wakes an idle actor worker once, not once per check.
class result_batch {
 public:
  static constexpr auto flush_after = std::chrono::milliseconds(2);
  explicit result_batch(boost::asio::io_context& io);
  void add(std::shared_ptr<subscription> s, probe_result r);

 private:
  void flush();
  boost::asio::steady_timer timer_;
  std::vector<std::pair<std::shared_ptr<subscription>, probe_result>> pending_;
};

class health_prober : public prober {
 public:
  health_prober(io_pool& pool, std::shared_ptr<boost::asio::ssl::context> tls);
  ~health_prober() override;
  void probe(probe_request req, std::function<void(probe_result)> done) override;

 private:
  io_pool& pool_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::vector<std::unique_ptr<result_batch>> batches_;  // one per I/O thread
  std::atomic<size_t> next_{0};
};

}  // namespace sg::http
