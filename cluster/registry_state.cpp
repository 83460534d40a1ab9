#include "cluster/registry_state.hpp"

#include <algorithm>

namespace sg {

namespace {

uint64_t fnv(std::string_view s, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

// Group and node keys share the buckets; a prefix keeps a group and a node of the same name apart.
constexpr uint64_t group_seed = 0x67726f7570ull, node_seed = 0x6e6f6465ull;

size_t bucket(uint64_t seed, const std::string& key) {
  return mix(fnv(key, fnv("", seed))) % registry_state::digest_buckets;
}

template <class Record>
uint64_t record_hash(uint64_t seed, const std::string& key, const Record& r) {
  auto h = fnv(key, seed);
  h = fnv(r.st.origin, h ^ mix(r.st.hlc));
  return mix(h ^ (r.deleted ? 0x9e3779b97f4a7c15ull : 0));
}

}  // namespace

void registry_state::account(const group_record& r, int sign) {
  digest_[bucket(group_seed, r.spec.name)] ^= record_hash(group_seed, r.spec.name, r);
  if (r.deleted) group_tombstones_ += sign;
  if (sign > 0) max_hlc_ = std::max(max_hlc_, r.st.hlc);
}

void registry_state::account(const node_record& r, int sign) {
  digest_[bucket(node_seed, r.spec.node_id)] ^= record_hash(node_seed, r.spec.node_id, r);
  if (r.deleted) {
    node_tombstones_ += sign;
  } else if (sign > 0) {
    live_by_group_[r.spec.group].insert(r.spec.node_id);
  } else if (auto i = live_by_group_.find(r.spec.group); i != live_by_group_.end()) {
    i->second.erase(r.spec.node_id);
    if (i->second.empty()) live_by_group_.erase(i);
  }
  if (sign > 0) max_hlc_ = std::max(max_hlc_, r.st.hlc);
}

template <class Map, class Record>
bool registry_state::merge_into(Map& map, const std::string& key, const Record& r) {
  auto [it, inserted] = map.try_emplace(key, r);
  if (!inserted) {
    if (!newer(r.st, r.deleted, it->second.st, it->second.deleted)) return false;
    account(it->second, -1);
    it->second = r;
  }
  account(it->second, +1);
  return true;
}

bool registry_state::merge(const group_record& r) {
  return merge_into(groups_, r.spec.name, r);
}

bool registry_state::merge(const node_record& r) {
  return merge_into(nodes_, r.spec.node_id, r);
}

void registry_state::merge(const registry_state& other) {
  for (auto& [k, r] : other.groups_) merge(r);
  for (auto& [k, r] : other.nodes_) merge(r);
}

bool registry_state::erase_group(const std::string& name) {
  auto i = groups_.find(name);
  if (i == groups_.end()) return false;
  account(i->second, -1);
  groups_.erase(i);
  return true;
}

bool registry_state::erase_node(const std::string& node_id) {
  auto i = nodes_.find(node_id);
  if (i == nodes_.end()) return false;
  account(i->second, -1);
  nodes_.erase(i);
  return true;
}

const group_record* registry_state::group(const std::string& name) const {
  auto i = groups_.find(name);
  return i == groups_.end() || i->second.deleted ? nullptr : &i->second;
}

const node_record* registry_state::node(const std::string& node_id) const {
  auto i = nodes_.find(node_id);
  return i == nodes_.end() || i->second.deleted ? nullptr : &i->second;
}

std::vector<const node_record*> registry_state::nodes_of(const std::string& group) const {
  std::vector<const node_record*> out;
  auto i = live_by_group_.find(group);
  if (i == live_by_group_.end()) return out;
  out.reserve(i->second.size());
  for (auto& id : i->second) out.push_back(&nodes_.at(id));
  return out;
}

std::vector<const group_record*> registry_state::live_groups() const {
  std::vector<const group_record*> out;
  for (auto& [name, r] : groups_)
    if (!r.deleted) out.push_back(&r);
  return out;
}

size_t registry_state::collect_tombstones(uint64_t horizon_hlc) {
  if (tombstone_count() == 0) return 0;
  size_t n = 0;
  auto sweep = [&](auto& map) {
    for (auto i = map.begin(); i != map.end();) {
      if (i->second.deleted && i->second.st.hlc < horizon_hlc) {
        account(i->second, -1);
        i = map.erase(i);
        ++n;
      } else {
        ++i;
      }
    }
  };
  sweep(groups_);
  sweep(nodes_);
  return n;
}

void registry_state::collect(const std::vector<char>& buckets, std::vector<group_record>& groups,
                             std::vector<node_record>& nodes) const {
  auto marked = [&](size_t b) { return b < buckets.size() && buckets[b]; };
  for (auto& [k, r] : groups_)
    if (marked(bucket(group_seed, k))) groups.push_back(r);
  for (auto& [k, r] : nodes_)
    if (marked(bucket(node_seed, k))) nodes.push_back(r);
}

}  // namespace sg
