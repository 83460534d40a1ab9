#include "actors/routing_table.hpp"

namespace sg {

void routing_table::publish(snapshot_ptr snap) {
  std::lock_guard<std::mutex> guard{write_mutex_};
  auto cur = map_.load();
  if (auto i = cur->find(snap->spec.name); i != cur->end()) {
    if (i->second->snap.load()->owner > snap->owner) return;
    i->second->snap.store(std::move(snap));
    return;
  }
  auto next = std::make_shared<map_type>(*cur);
  auto s = std::make_shared<slot>();
  auto name = snap->spec.name;
  s->snap.store(std::move(snap));
  next->emplace(std::move(name), std::move(s));
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
  if (i == cur->end() || i->second->snap.load()->owner != owner) return;
  auto next = std::make_shared<map_type>(*cur);
  next->erase(group);
  map_.store(std::move(next));
}

routing_table::snapshot_ptr routing_table::find(std::string_view group) const {
  auto cur = map_.load();
  auto i = cur->find(group);
  return i == cur->end() ? nullptr : i->second->snap.load();
}

size_t routing_table::size() const {
  return map_.load()->size();
}

std::vector<routing_table::snapshot_ptr> routing_table::all() const {
  auto cur = map_.load();
  std::vector<snapshot_ptr> out;
  out.reserve(cur->size());
  for (auto& [name, s] : *cur) out.push_back(s->snap.load());
  return out;
}

}  // namespace sg
