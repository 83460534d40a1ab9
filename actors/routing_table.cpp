#include "actors/routing_table.hpp"

namespace sg {

void routing_table::publish(snapshot_ptr snap) {
  std::lock_guard<std::mutex> guard{write_mutex_};
  auto cur = map_.load();
  if (auto i = cur->find(snap->spec.name); i != cur->end() && i->second->owner > snap->owner)
    return;
  auto next = std::make_shared<map_type>(*cur);
  (*next)[snap->spec.name] = std::move(snap);
  map_.store(std::move(next));
}

uint64_t routing_table::next_owner() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

void routing_table::remove(const std::string& group, uint64_t owner) {
  std::lock_guard<std::mutex> guard{write_mutex_};
  auto cur = map_.load();
  auto i = cur->find(group);
  if (i == cur->end() || i->second->owner != owner) return;
  auto next = std::make_shared<map_type>(*cur);
  next->erase(group);
  map_.store(std::move(next));
}

routing_table::snapshot_ptr routing_table::find(std::string_view group) const {
  auto cur = map_.load();
  auto i = cur->find(group);
  return i == cur->end() ? nullptr : i->second;
}

size_t routing_table::size() const {
  return map_.load()->size();
}

std::vector<routing_table::snapshot_ptr> routing_table::all() const {
  auto cur = map_.load();
  std::vector<snapshot_ptr> out;
  out.reserve(cur->size());
  for (auto& [name, snap] : *cur) out.push_back(snap);
  return out;
}

}  // namespace sg
