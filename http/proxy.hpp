#pragma once
// The data plane: ANY /groups/{group}/{endpoint...} -> {baseUrl}/{endpoint...} of a node picked
// from the group's published snapshot (no actor on the request path). Bodies stream both ways in
// 64 KiB pieces with no size limit unless the group sets one; answers are flushed as they arrive.
// HTTP/1.1 as RFC 9112 says in both directions: see proxy_connection.hpp for how it is split.
#include "actors/routing_table.hpp"
#include "http/listener.hpp"

#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace sg::http {

struct proxy_context {
  std::shared_ptr<routing_table> table;
  std::shared_ptr<boost::asio::ssl::context> tls;   // for https nodes
  std::chrono::milliseconds header_timeout{30000};  // client header read (slowloris bound)
  std::chrono::milliseconds idle_timeout{60000};    // no progress on a body transfer or tunnel
  size_t max_header_bytes = 64 * 1024;              // a header, each direction, start line incl.
  std::string via;  // this controller's Via pseudonym (its id): added both ways, loops refused
  // --metrics off: skip the updates only /metrics reads (durations, bytes, status classes), so
  // bench/proxy can show what they cost. Rejection and retry counters stay (rare paths).
  bool metrics = true;
  int64_t max_connections = 1 << 30;  // client connections at once; more get 503 and a close
  std::atomic<int64_t> connections{0};
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> active{0};  // requests being forwarded (a graceful stop waits for 0)
};

boost::asio::awaitable<void> proxy_session(tcp::socket sock, std::shared_ptr<proxy_context> ctx);

}  // namespace sg::http
