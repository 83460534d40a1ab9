#pragma once
// The controller's registry replica and the only writer of registry records. It validates writes
// against the current state (staged writes included), hands them to the journal writer in
// batches (group commit: one fdatasync and one replication round per batch, durable before any
// answer) and drives the group actors: one per live group, each told about its nodes. Reads
// about live health are delegated to the group actor that owns them.
#include "actors/prober.hpp"
#include "actors/routing_table.hpp"
#include "actors/views.hpp"
#include "cluster/registry_api.hpp"
#include "cluster/registry_store.hpp"

#include <caf/stateful_actor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sg {

// Cluster figures read by /metrics (from other threads).
struct cluster_stats {
  std::atomic<int64_t> peers_up{0};
  std::atomic<uint64_t> deltas_sent{0}, deltas_received{0}, repairs{0};
  std::atomic<uint64_t> full_transfers{0}, stale_records_dropped{0}, journal_batches{0},
      journal_writes{0};
  std::atomic<bool> writes_refused{false};
  std::atomic<bool> clock_measured{false};
  std::atomic<int64_t> clock_offset_ms{0};  // ours minus the peers' (median)
  // Per peer address: its clock minus ours, in ms (measured peers only).
  std::map<std::string, int64_t> peer_offsets() const {
    std::lock_guard<std::mutex> g{mutex};
    return offsets;
  }
  void set_peer_offsets(std::map<std::string, int64_t> o) {
    std::lock_guard<std::mutex> g{mutex};
    offsets = std::move(o);
  }

 private:
  mutable std::mutex mutex;
  std::map<std::string, int64_t> offsets;
};

struct peer_entry {
  std::string controller_id;
  caf::actor gate;
  caf::actor link;  // our peer link to it (kicked when the peer shows up on its own)
  bool connected = false;
  bool gate_ever = false;  // was connected once ("disconnected" vs still "connecting")
  int64_t last_seen_ms = 0;
  int64_t lag_ms = 0;
  uint64_t sent = 0, received = 0, repairs = 0;
  bool digest_pending = false;
  bool lagging = false;  // missed a delta: skipped by replication until anti-entropy succeeds
  bool clock_pending = false;
  bool clock_measured = false;
  int64_t clock_offset_ms = 0;  // the peer's clock minus ours
  int64_t rtt_ms = 0;
  int64_t clock_at_ms = 0;  // when measured
};

struct registry_actor_args {
  std::shared_ptr<registry_store> store;
  std::shared_ptr<routing_table> table;
  prober_ptr probes;
  caf::actor events;  // event hub (may be null)
  std::shared_ptr<cluster_stats> stats = std::make_shared<cluster_stats>();
  std::string cluster_address;     // "" when not clustered
  std::vector<std::string> peers;  // configured peer addresses (listed by /api/cluster at once)
  std::chrono::milliseconds replication_timeout{1000};
  std::chrono::milliseconds anti_entropy_interval{1000};
};

// A write waiting for the journal. Local writes are stamped here and answered after the
// replication round; a peer's records are answered once durable.
struct commit_job {
  staged_batch batch;
  bool local = true;
  std::function<void(const caf::error&)> durable;  // journaled (or failed: then nothing applied)
  std::function<void(int32_t)> replicated;         // local only: replica count
};

struct registry_actor_state {
  registry_actor_args args;
  caf::actor journal;  // the journal writer (detached)
  std::map<std::string, caf::actor> groups;
  std::map<std::string, status_counts> counts;
  std::map<std::string, peer_entry> peers;  // by configured address
  bool draining = false;
  // Group commit: writes that arrive while a journal write is in flight wait in `next`.
  std::vector<commit_job> next;
  bool journal_busy = false;
  bool compacting = false;
  // Freshness: when we last completed an exchange with a peer (persisted in the data dir).
  uint64_t last_contact_ms = 0;
  uint64_t contact_saved_ms = 0;
  bool rebasing = false;  // a full state transfer is being applied
  int64_t tombstones_collected_ms = 0;
  static inline const char* name = "sg.registry";
};

// Answers the requests of registry_api (registry_api.hpp). From peers (through the cluster
// gate): (repl_atom, from, groups, nodes) -> uint64 applied; (digest_atom, digest_msg) ->
// repair_msg. From peer links: peer_up / peer_down / link.
caf::behavior registry_actor(caf::stateful_actor<registry_actor_state>* self,
                             registry_actor_args args);

void add_cluster_types(caf::actor_system_config& cfg);

}  // namespace sg
