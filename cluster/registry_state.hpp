#pragma once
// The replicated registry as a state-based CRDT: a last-writer-wins map of groups by name and of
// nodes by nodeId. merge() is commutative, associative and idempotent (unit-tested), which is
// what lets journal replay, peer deltas and anti-entropy all use the same operation.
// Everything derived (digest, per-group index, counts, newest stamp) is kept up to date on each
// change, so no read on the write path costs O(registry).
#include "cluster/records.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sg {

class registry_state {
 public:
  // Each returns true when the record won (state changed).
  bool merge(const group_record& r);
  bool merge(const node_record& r);
  void merge(const registry_state& other);
  // Forgets a record entirely (full state transfer from a peer). True if it was there.
  bool erase_group(const std::string& name);
  bool erase_node(const std::string& node_id);

  // Live (non-deleted) lookups; nullptr when absent or a tombstone.
  const group_record* group(const std::string& name) const;
  const node_record* node(const std::string& node_id) const;
  std::vector<const node_record*> nodes_of(const std::string& group) const;
  std::vector<const group_record*> live_groups() const;

  // Drops tombstones whose stamp is older than `horizon_hlc`; returns how many.
  size_t collect_tombstones(uint64_t horizon_hlc);

  const std::map<std::string, group_record>& groups() const { return groups_; }
  const std::map<std::string, node_record>& nodes() const { return nodes_; }
  size_t record_count() const { return groups_.size() + nodes_.size(); }
  size_t live_group_count() const { return groups_.size() - group_tombstones_; }
  size_t live_node_count() const { return nodes_.size() - node_tombstones_; }
  size_t tombstone_count() const { return group_tombstones_ + node_tombstones_; }
  uint64_t max_hlc() const { return max_hlc_; }

  // Anti-entropy digest: records hashed into 64 buckets by key; equal buckets hold equal
  // records (up to hash collisions). Order-independent, so any two replicas compare directly.
  static constexpr size_t digest_buckets = 64;
  using digest_type = std::vector<uint64_t>;
  const digest_type& digest() const { return digest_; }
  // The records (tombstones included) whose keys fall into the marked buckets.
  void collect(const std::vector<char>& buckets, std::vector<group_record>& groups,
               std::vector<node_record>& nodes) const;

  friend bool operator==(const registry_state& a, const registry_state& b) {
    return a.groups_ == b.groups_ && a.nodes_ == b.nodes_;
  }

 private:
  void account(const group_record& r, int sign);
  void account(const node_record& r, int sign);
  template <class Map, class Record>
  bool merge_into(Map& map, const std::string& key, const Record& r);

  std::map<std::string, group_record> groups_;
  std::map<std::string, node_record> nodes_;
  std::map<std::string, std::set<std::string>> live_by_group_;  // group -> live node ids
  digest_type digest_ = digest_type(digest_buckets, 0);
  size_t group_tombstones_ = 0, node_tombstones_ = 0;
  uint64_t max_hlc_ = 0;
};

}  // namespace sg
