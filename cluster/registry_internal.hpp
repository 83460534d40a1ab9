#pragma once
// What the registry actor's three parts share (not for use outside cluster/registry_*.cpp):
// the CRUD handlers (registry_actor.cpp), the group commit and the group actors kept in line
// with it (registry_commit.cpp), and replication with peers (registry_replication.cpp).
#include "cluster/registry_actor.hpp"

#include <caf/expected.hpp>
#include <caf/message_handler.hpp>

#include <functional>
#include <string>
#include <vector>

namespace sg::registry {

using self_ptr = caf::stateful_actor<registry_actor_state>*;

inline registry_store& store_of(self_ptr self) {
  return *self->state.args.store;
}
int64_t now_ms();

// --- registry_commit.cpp
// Stages a local write (fresh stamps) and queues it for the next journal batch. `durable` runs
// once it is on disk (or failed); `replicated` once the replication round (which runs alongside
// the disk write) is over too, with the replica count, and never when the disk write failed.
// Refused at once (durable gets the error) while this controller's clock is off.
void write(self_ptr self, std::vector<any_record> batch,
           std::function<void(const caf::error&)> durable, std::function<void(int32_t)> replicated);
// Stages a peer's records that win here and queues them; `done` gets how many won.
void merge_from_peer(self_ptr self, const std::vector<group_record>& groups,
                     const std::vector<node_record>& nodes,
                     std::function<void(caf::expected<uint64_t>)> done);
// Queues a journal rewrite with the live state (compaction, or after a full state transfer).
void rewrite_journal(self_ptr self, std::function<void(const std::string&)> done);
// Brings the group actors in line with records that changed in the durable state.
void apply_merged(self_ptr self, const std::vector<any_record>& changed);
// The group's actor, spawned (and told every live node of the group) if needed.
caf::actor ensure_group_actor(self_ptr self, const group_spec& spec, bool* spawned = nullptr);
void stop_group_actor(self_ptr self, const std::string& name);

// --- registry_replication.cpp
// Sends stamped records to every connected peer; `done(replicas)` once each journaled them or
// timed out (a peer that misses a delta catches up through anti-entropy).
void replicate(self_ptr self, const std::vector<any_record>& records,
               std::function<void(int32_t)> done);
// The clock_skew error when this controller's clock is off from its peers beyond the bound.
caf::error clock_refusal(self_ptr self);
// Starts the timers and loads the persisted freshness (clustered controllers only).
void start_cluster(self_ptr self);
caf::message_handler cluster_handlers(self_ptr self);

}  // namespace sg::registry
