#pragma once
// The registry's durable state on one controller: the CRDT state, its journal, the HLC, and the
// writes on their way to the journal. A write is staged (stamped, visible to the validation of
// the writes after it), journaled by the caller (the journal writer actor, several batches per
// fdatasync), then completed: applied to the state when durable, dropped when not. An
// acknowledged write is on disk; a write that failed to reach the disk changed nothing.
#include "cluster/hlc.hpp"
#include "cluster/journal.hpp"
#include "cluster/record_codec.hpp"
#include "cluster/registry_state.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sg {

struct store_options {
  std::string data_dir;
  std::string controller_id;
  uint64_t tombstone_ttl_ms = 24ull * 3600 * 1000;
  uint64_t max_clock_offset_ms = hlc_clock::default_max_offset_ms;
  uint64_t compact_min_bytes = 4u << 20;  // compaction starts above this journal size ...
  double compact_ratio = 4.0;             // ... once it is this many times the live state
  hlc_clock::physical_fn clock = hlc_clock::wall_ms;
};

// Records on their way to the journal, with their encoded payloads.
struct staged_batch {
  std::vector<any_record> records;
  std::vector<std::string> payloads;
  bool empty() const { return records.empty(); }
};

class registry_store {
 public:
  // Locks the data dir (one sgd per dir), replays the journal. "" or why the dir is unusable.
  static std::string open(store_options opts, std::unique_ptr<registry_store>& out,
                          journal_recovery& recovery);
  ~registry_store();

  // Local writes: every record gets a fresh stamp above both the clock and the record it
  // replaces (unless the caller set one on purpose), and this controller as origin. Always
  // staged, even when equal to the local copy: that copy may be stale.
  staged_batch stage_local(std::vector<any_record> batch);
  // A peer's records: only those newer than ours (pending writes included) are staged.
  staged_batch stage_remote(const std::vector<group_record>& groups,
                            const std::vector<node_record>& nodes);
  // After the journal write: applies the batch to the state when durable, drops it when not.
  void complete(const staged_batch& batch, bool durable);

  // Synchronous stage + journal + complete on the caller's thread (tests and tools): "" or the
  // storage error (then nothing applied). `stamped` / `won` get the records written.
  std::string commit(std::vector<any_record> batch, std::vector<any_record>* stamped = nullptr);
  std::string merge_remote(const std::vector<group_record>& groups,
                           const std::vector<node_record>& nodes, std::vector<any_record>& won);

  // Lookups that see staged writes: what the next write is validated against.
  const group_record* group(const std::string& name) const;      // live only
  const group_record* any_group(const std::string& name) const;  // tombstones too
  const node_record* node(const std::string& node_id) const;     // live only
  std::vector<const node_record*> nodes_of(const std::string& group) const;
  bool has_staged() const { return !staged_groups_.empty() || !staged_nodes_.empty(); }

  // Durable state only (what peers are told and what the group actors hold).
  const registry_state& state() const { return state_; }
  registry_state& mutable_state() { return state_; }
  const std::string& controller_id() const { return opts_.controller_id; }
  const store_options& options() const { return opts_; }
  hlc_clock& clock() { return clock_; }
  uint64_t journal_bytes() const { return journal_.size_bytes(); }
  // The journal file; once the journal writer runs, only its thread touches it.
  journal& journal_file() { return journal_; }

  // Tombstones older than this may have been forgotten here (now - TTL, in unix ms).
  uint64_t horizon_ms() const;
  // Forgets tombstones past the TTL (in memory; the journal keeps them until compaction).
  size_t collect_tombstones();
  // Compaction: due when the journal outgrew the live state; the payloads are the live state
  // (call with nothing staged); compacted() takes the rewrite's outcome.
  bool compaction_due() const { return journal_.size_bytes() > compact_at_; }
  std::vector<std::string> compaction_payloads();
  void compacted(const std::string& err, uint64_t bytes_before);
  std::string compact();  // synchronous: payloads, rewrite, compacted

 private:
  explicit registry_store(store_options opts);
  template <class Record>
  uint64_t fresh_stamp(const Record& r);
  uint64_t live_bytes() const;
  void set_compact_threshold(uint64_t live_bytes);
  uint64_t compact_at_ = 0;
  store_options opts_;
  registry_state state_;
  // Staged records by key, the newest per key (several batches may be in flight).
  std::map<std::string, group_record> staged_groups_;
  std::map<std::string, node_record> staged_nodes_;
  journal journal_;
  hlc_clock clock_;
  int lock_fd_ = -1;
};

}  // namespace sg
