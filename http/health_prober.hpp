#pragma once
// Active health checks over HTTP(S), run on the I/O threads: GET healthUrl, 2xx passes, 418 asks
// for a drain, anything else, a timeout or a refused connection fails. Implements the prober
// interface node actors use, so actors never block on the network.
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
