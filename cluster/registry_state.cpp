#include "cluster/registry_state.hpp"

#include <algorithm>

namespace sg {

namespace {
template <class Map, class Record>
bool merge_into(Map& map, const std::string& key, const Record& r) {
  auto [it, inserted] = map.try_emplace(key, r);
  if (inserted) return true;
  if (!newer(r.st, r.deleted, it->second.st, it->second.deleted)) return false;
  it->second = r;
  return true;
}
}  // namespace

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
  for (auto& [id, r] : nodes_)
    if (!r.deleted && r.spec.group == group) out.push_back(&r);
  return out;
}

std::vector<const group_record*> registry_state::live_groups() const {
  std::vector<const group_record*> out;
  for (auto& [name, r] : groups_)
    if (!r.deleted) out.push_back(&r);
  return out;
}

size_t registry_state::collect_tombstones(uint64_t horizon_hlc) {
  size_t n = 0;
  auto sweep = [&](auto& map) {
    for (auto i = map.begin(); i != map.end();) {
      if (i->second.deleted && i->second.st.hlc < horizon_hlc) {
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
template <class Record>
uint64_t record_hash(const std::string& key, const Record& r) {
  auto h = fnv(key);
  h = fnv(r.st.origin, h ^ mix(r.st.hlc));
  return mix(h ^ (r.deleted ? 0x9e3779b97f4a7c15ull : 0));
}
}  // namespace

size_t registry_state::bucket_of(const std::string& key) {
  return mix(fnv(key)) % digest_buckets;
}

registry_state::digest_type registry_state::digest() const {
  digest_type d(digest_buckets, 0);
  // Group and node keys cannot collide ("node-" ids are not group names only by chance), so
  // both share the buckets; a prefix keeps them apart anyway.
  for (auto& [k, r] : groups_) d[bucket_of("g/" + k)] ^= record_hash("g/" + k, r);
  for (auto& [k, r] : nodes_) d[bucket_of("n/" + k)] ^= record_hash("n/" + k, r);
  return d;
}

void registry_state::collect(const std::vector<char>& buckets, std::vector<group_record>& groups,
                             std::vector<node_record>& nodes) const {
  for (auto& [k, r] : groups_)
    if (buckets[bucket_of("g/" + k)]) groups.push_back(r);
  for (auto& [k, r] : nodes_)
    if (buckets[bucket_of("n/" + k)]) nodes.push_back(r);
}

uint64_t registry_state::max_hlc() const {
  uint64_t m = 0;
  for (auto& [k, r] : groups_) m = std::max(m, r.st.hlc);
  for (auto& [k, r] : nodes_) m = std::max(m, r.st.hlc);
  return m;
}

}  // namespace sg
