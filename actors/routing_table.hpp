#pragma once
// The data plane's read model. Group actors publish an immutable snapshot of their routable nodes
// whenever membership, weights or states change; proxy threads load it lock-free and never wait
// on an actor. Each group has a slot the table points to: republishing a group stores into its
// slot (O(1) in the number of groups); only adding or removing a group copies the name->slot map.
#include "actors/chunked_list.hpp"
#include "actors/health_machine.hpp"
#include "actors/node_runtime.hpp"
#include "actors/specs.hpp"
#include "actors/url.hpp"

#include <caf/actor.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sg {

// One node as routing sees it. Immutable and shared: successive snapshots of a group share the
// entries of the nodes that did not change, so a publish copies pointers, not specs.
struct routed_node {
  node_spec spec;
  url_parts base;  // spec.base_url parsed once, not per request
  node_status status = node_status::healthy;
  std::shared_ptr<node_runtime> runtime;
  caf::actor actor;  // where the proxy reports passive failures (a send, never a wait)
};
using routed_ptr = std::shared_ptr<const routed_node>;

struct group_snapshot {
  group_spec spec;
  // Shared in chunks with the group's earlier and later snapshots; in no particular order.
  chunked_list<routed_ptr> nodes;      // routable nodes only (healthy or degraded, active)
  std::vector<uint32_t> wrr_schedule;  // smooth weighted round-robin cycle (indices into nodes)
  chunked_list<routed_ptr> members;    // every registered node, routable or not (for /metrics)
  std::shared_ptr<group_runtime> stats = std::make_shared<group_runtime>();
  // Request counter for round robin; shared by the group's successive snapshots so the rotation
  // continues across membership changes.
  std::shared_ptr<std::atomic<uint64_t>> counter = std::make_shared<std::atomic<uint64_t>>(0);
  uint64_t version = 0;
  uint64_t owner = 0;  // incarnation of the publishing group actor; higher ones win
};

class routing_table {
 public:
  using snapshot_ptr = std::shared_ptr<const group_snapshot>;

  // Replaces the group's snapshot unless a newer incarnation (higher owner) already published:
  // a deleted-and-recreated group's old actor can never overwrite its successor.
  void publish(snapshot_ptr snap);
  // Removes the group's entry if `owner` published it.
  void remove(const std::string& group, uint64_t owner);
  // A fresh owner id for a new group actor incarnation.
  static uint64_t next_owner();
  // Lock-free; nullptr for an unknown group.
  snapshot_ptr find(std::string_view group) const;
  size_t size() const;
  std::vector<snapshot_ptr> all() const;

 private:
  struct slot {
    std::atomic<snapshot_ptr> snap;
  };
  using map_type = std::map<std::string, std::shared_ptr<slot>, std::less<>>;
  std::atomic<std::shared_ptr<const map_type>> map_{std::make_shared<const map_type>()};
  std::mutex write_mutex_;  // serializes writers only
};

}  // namespace sg
