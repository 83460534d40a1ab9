#pragma once
// One actor per server group: the supervisor of its node actors (spawns, monitors, restarts with
// backoff) and the publisher of the group's routing snapshot. It answers the admin reads about
// its nodes from the health reports its children send it.
#include "actors/node_runtime.hpp"
#include "actors/prober.hpp"
#include "actors/routing_table.hpp"
#include "actors/specs.hpp"
#include "actors/url.hpp"
#include "actors/views.hpp"

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace sg {

struct group_actor_args {
  group_spec spec;
  std::shared_ptr<routing_table> table;
  prober_ptr probes;
  caf::actor observer;  // receives (counts_atom, group, status_counts) when counts change
  caf::actor events;    // event hub (may be null)
};

struct group_child {
  node_spec spec;
  std::optional<url_parts> base;  // spec.base_url parsed once per spec, not per publish
  routed_ptr routed;  // this node's entry in the last snapshot; reset when the spec changes
  // Where the entry sits in the group's lists (npos: not there), and what the counts hold.
  size_t member_at = npos, routable_at = npos;
  bool dirty = false;    // changed since the last publish (listed in group_state::dirty)
  bool counted = false;  // counted_status is in group_state::counts
  node_status counted_status = node_status::healthy;
  static constexpr size_t npos = static_cast<size_t>(-1);
  node_health health;
  bool reported = false;  // the first health report arrived
  std::shared_ptr<node_runtime> runtime;
  caf::actor actor;
  int restarts = 0;
  std::chrono::steady_clock::time_point last_restart{};
  std::vector<caf::response_promise> waiting;  // registrations waiting for the first check
  bool created = false;
};

struct group_state {
  group_actor_args args;
  uint64_t owner = 0;
  uint64_t version = 0;
  std::shared_ptr<std::atomic<uint64_t>> counter = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<group_runtime> stats = std::make_shared<group_runtime>();
  std::map<std::string, group_child> children;
  std::map<caf::actor_addr, std::string> by_addr;
  // The routing lists as of the last publish plus the changes since: a publish applies the
  // children marked dirty and copies the lists (chunk pointers), never walking every child.
  chunked_list<routed_ptr> members, routable;
  std::vector<std::string> dirty;
  status_counts counts, last_counts;
  // Publishing is coalesced: changes mark the snapshot stale and one publish_atom, queued behind
  // whatever is in the mailbox (and, for a group whose publish has become costly, a short delay),
  // rebuilds it once. Answers that promise "routed now" wait for it.
  bool publish_pending = false;
  std::chrono::steady_clock::time_point last_publish{};
  std::chrono::steady_clock::duration publish_cost{};  // how long the last rebuild took
  std::vector<std::pair<caf::response_promise, register_result>> after_publish;
  static inline const char* name = "sg.group";
};

// Messages: (spec_atom, group_spec) settings; (node_put_atom, node_spec, bool created) ->
// register_result once the node's first check is in; (node_del_atom, node_id);
// (node_get_atom, node_id) -> node_view; (node_list_atom) -> std::vector<node_view>;
// (grp_get_atom) -> group_view; (child_atom, node_id) -> caf::actor (for supervision tests).
// A child's (reap_atom, node_spec, ms, why) goes on to the observer (the registry) as it is.
caf::behavior group_actor(caf::stateful_actor<group_state>* self, group_actor_args args);

}  // namespace sg
