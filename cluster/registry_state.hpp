#pragma once
// The replicated registry as a state-based CRDT: a last-writer-wins map of groups by name and of
// nodes by nodeId. merge() is commutative, associative and idempotent (unit-tested), which is
// what lets journal replay, peer deltas and anti-entropy all use the same operation.
#include "cluster/records.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sg {

class registry_state {
 public:
  // Each returns true when the record won (state changed).
  bool merge(const group_record& r);
  bool merge(const node_record& r);
  void merge(const registry_state& other);

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
  uint64_t max_hlc() const;

  // Anti-entropy digest: records hashed into 64 buckets by key; equal buckets hold equal
  // records (up to hash collisions). Order-independent, so any two replicas compare directly.
  static constexpr size_t digest_buckets = 64;
  using digest_type = std::vector<uint64_t>;
  digest_type digest() const;
  static size_t bucket_of(const std::string& key);
  // The records (tombstones included) whose keys fall into the marked buckets.
  void collect(const std::vector<char>& buckets, std::vector<group_record>& groups,
               std::vector<node_record>& nodes) const;

  friend bool operator==(const registry_state&, const registry_state&) = default;

 private:
  std::map<std::string, group_record> groups_;
  std::map<std::string, node_record> nodes_;
};

}  // namespace sg
