#pragma once
// The registry's durable state on one controller: the CRDT state, its journal and the HLC.
// commit() stamps a batch of local writes, makes it durable (one fdatasync), then applies it:
// a write that is acknowledged is on disk, a write that failed to reach the disk changed nothing.
#include "cluster/hlc.hpp"
#include "cluster/journal.hpp"
#include "cluster/record_codec.hpp"
#include "cluster/registry_state.hpp"

#include <memory>
#include <string>
#include <vector>

namespace sg {

struct store_options {
  std::string data_dir;
  std::string controller_id;
  uint64_t tombstone_ttl_ms = 24ull * 3600 * 1000;
  uint64_t compact_min_bytes = 4u << 20;  // compaction starts above this journal size ...
  double compact_ratio = 4.0;             // ... once it is this many times the live state
  hlc_clock::physical_fn clock = hlc_clock::wall_ms;
};

class registry_store {
 public:
  // Locks the data dir (one sgd per dir), replays the journal. "" or why the dir is unusable.
  static std::string open(store_options opts, std::unique_ptr<registry_store>& out,
                          journal_recovery& recovery);
  ~registry_store();

  // Stamps each record with a fresh HLC stamp (unless the caller set one) and this controller as
  // origin, journals the batch and applies it. "" or the storage error (then nothing applied).
  std::string commit(std::vector<any_record> batch, std::vector<any_record>* stamped = nullptr);

  // Merges records from a peer (already stamped): the ones that win are journaled (one fsync)
  // and applied; returns "" or the storage error (then nothing was applied). `won` gets them.
  std::string merge_remote(const std::vector<group_record>& groups,
                           const std::vector<node_record>& nodes, std::vector<any_record>& won);

  const registry_state& state() const { return state_; }
  const std::string& controller_id() const { return opts_.controller_id; }
  uint64_t journal_bytes() const { return journal_.size_bytes(); }
  // Rewrites the journal with the live state (tombstones past their TTL dropped). "" or error.
  std::string compact();

 private:
  explicit registry_store(store_options opts);
  uint64_t live_bytes() const;
  void set_compact_threshold(uint64_t live_bytes);
  uint64_t compact_at_ = 0;
  store_options opts_;
  registry_state state_;
  journal journal_;
  hlc_clock clock_;
  int lock_fd_ = -1;
};

}  // namespace sg
