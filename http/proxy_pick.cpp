// Pick + failover: the group's snapshot, the metadata filter, the strategy's pick and a
// connection (pooled or new), failing over to another node when connecting fails. The exchange
// itself is proxy_exchange.cpp's.
#include "actors/messages.hpp"
#include "actors/strategies.hpp"
#include "http/proxy_connection.hpp"
#include "http/route_metadata.hpp"
#include "metrics/log.hpp"

#include <caf/send.hpp>

namespace sg::http {

namespace asio = boost::asio;

namespace {

// Counts a request against its node for as long as it runs.
struct in_flight_guard {
  const routed_node& node;
  explicit in_flight_guard(const routed_node& n) : node(n) {
    node.runtime->in_flight.fetch_add(1, std::memory_order_relaxed);
    node.runtime->requests.fetch_add(1, std::memory_order_relaxed);
  }
  ~in_flight_guard() {
    // The last request of a draining node tells its actor, which announces the drain complete.
    if (node.runtime->in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
        node.runtime->draining.load(std::memory_order_acquire))
      caf::anon_send(node.actor, drained_atom::value);
  }
  in_flight_guard(const in_flight_guard&) = delete;
  in_flight_guard& operator=(const in_flight_guard&) = delete;
};

constexpr std::string_view kRouteMetadata = "X-Route-Metadata";

}  // namespace

asio::awaitable<bool> proxy_connection::handle() {
  auto started = std::chrono::steady_clock::now();
  auto& route = req_.route;
  auto snap = ctx_->table->find(route.group);
  if (!snap)
    co_return co_await reject(status::not_found, "group_not_found",
                              "no group named '" + std::string(route.group) + "'");
  auto& stats = *snap->stats;
  if (snap->nodes.empty()) {
    stats.rejected_no_node.fetch_add(1, std::memory_order_relaxed);
    co_return co_await reject(status::service_unavailable, "no_routable_node",
                              "group '" + snap->spec.name + "' has no routable node", 1);
  }
  auto max = snap->spec.max_request_bytes;
  if (max && req_.body.kind == body_kind::length && req_.body.length > max) {
    stats.rejected_too_large.fetch_add(1, std::memory_order_relaxed);
    co_return co_await reject(
        status::payload_too_large, "body_too_large",
        "group '" + snap->spec.name + "' accepts bodies up to " + std::to_string(max) + " bytes");
  }

  blocked_set blocked;
  bool filtered = false;
  if (auto md = req_.head.find(kRouteMetadata); !md.empty()) {
    metadata_pairs pairs;
    if (auto err = parse_route_metadata(md, pairs); !err.empty())
      co_return co_await reject(status::bad_request, "invalid_route_metadata", err);
    if (block_mismatches(*snap, pairs, blocked) == 0) {
      stats.rejected_no_match.fetch_add(1, std::memory_order_relaxed);
      co_return co_await reject(status::service_unavailable, "no_matching_node",
                                "no routable node of group '" + snap->spec.name +
                                    "' matches X-Route-Metadata '" + std::string(md) + "'",
                                1);
    }
    filtered = true;
  }
  std::string_view sticky;
  if (snap->spec.strategy == strategy_kind::sticky_session)
    for (auto& h : snap->spec.sticky_headers)
      if (auto v = req_.head.find(h); !v.empty()) {
        sticky = v;
        break;
      }

  auto counter = snap->counter->fetch_add(1, std::memory_order_relaxed);
  std::string last_error;
  bool last_timeout = false;
  auto& pool = upstream_pool::this_thread();
  bool fresh_only = false;  // set once a pooled connection turned out closed
  for (;;) {
    std::unique_ptr<upstream_conn> conn;
    const routed_node* node = nullptr;
    bool reused = false;
    for (int attempt = 0; attempt <= snap->spec.retries; ++attempt) {
      auto i = pick(*snap, counter, sticky, filtered || attempt ? &blocked : nullptr);
      if (i == no_pick) break;
      if (attempt) stats.retries.fetch_add(1, std::memory_order_relaxed);
      auto& cand = *snap->nodes[i];
      if (!fresh_only) conn = pool.take(cand.spec.node_id, cand.spec.base_url);
      reused = conn != nullptr;
      if (!conn) {
        auto r = co_await connect_upstream(
            cand.base, std::chrono::milliseconds(snap->spec.connect_timeout_ms), ctx_->tls.get());
        if (!r.conn) {
          // A failed connection is a failed observation (passive health) for that node.
          cand.runtime->connect_failures.fetch_add(1, std::memory_order_relaxed);
          caf::anon_send(cand.actor, passive_atom::value, probe_outcome::fail);
          log::warn("upstream connect failed",
                    {{"group", snap->spec.name}, {"node", cand.spec.node_id}, {"error", r.error}});
          last_error = r.error;
          last_timeout = r.timed_out;
          if (blocked.empty()) blocked.assign(snap->nodes.size(), 0);
          blocked[i] = 1;
          continue;
        }
        conn = std::move(r.conn);
      }
      node = &cand;
      break;
    }
    if (!node) {
      if (last_error.empty()) {
        stats.rejected_no_node.fetch_add(1, std::memory_order_relaxed);
        co_return co_await reject(status::service_unavailable, "no_routable_node",
                                  "no routable node left in group '" + snap->spec.name + "'", 1);
      }
      stats.rejected_unreachable.fetch_add(1, std::memory_order_relaxed);
      co_return co_await reject(
          last_timeout ? status::gateway_timeout : status::bad_gateway,
          last_timeout ? "upstream_timeout" : "upstream_unreachable",
          "no node of group '" + snap->spec.name + "' accepted a connection: " + last_error);
    }
    in_flight_guard guard{*node};
    stale_ = false;
    bool keep = co_await forward(*snap, *node, conn, reused && req_.replayable);
    if (stale_) {
      // The node closed its idle connections (restart, keep-alive timeout): drop the rest of
      // them and send the request again on a fresh one (a refused connect fails over).
      dl_->disarm();  // it watched the connection that goes away now
      node->runtime->requests.fetch_sub(1, std::memory_order_relaxed);  // counted again next
      pool.drop(node->spec.node_id);
      fresh_only = true;
      continue;
    }
    if (ctx_->metrics)
      stats.request_duration.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    co_return keep;
  }
}

}  // namespace sg::http
