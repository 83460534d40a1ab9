#include "cluster/registry_store.hpp"

#include "metrics/log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sg {

namespace {

const std::string& key_of(const group_record& r) {
  return r.spec.name;
}
const std::string& key_of(const node_record& r) {
  return r.spec.node_id;
}

// The newest record known for `key`: a staged one, else the durable one; nullptr if none.
template <class Record>
const Record* current(const std::map<std::string, Record>& staged,
                      const std::map<std::string, Record>& durable, const std::string& key) {
  if (auto i = staged.find(key); i != staged.end()) return &i->second;
  auto i = durable.find(key);
  return i == durable.end() ? nullptr : &i->second;
}

template <class Record>
void stage_into(std::map<std::string, Record>& staged, const Record& r) {
  auto [it, inserted] = staged.try_emplace(key_of(r), r);
  if (!inserted && newer(r.st, r.deleted, it->second.st, it->second.deleted)) it->second = r;
}

template <class Record>
void unstage(std::map<std::string, Record>& staged, const Record& r) {
  if (auto i = staged.find(key_of(r)); i != staged.end() && i->second == r) staged.erase(i);
}

}  // namespace

registry_store::registry_store(store_options opts)
    : opts_(std::move(opts)), clock_(opts_.clock, opts_.max_clock_offset_ms) {}

registry_store::~registry_store() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string registry_store::open(store_options opts, std::unique_ptr<registry_store>& out,
                                 journal_recovery& recovery) {
  std::unique_ptr<registry_store> s{new registry_store(std::move(opts))};
  auto lock_path = s->opts_.data_dir + "/LOCK";
  s->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lock_fd_ < 0)
    return "data dir " + s->opts_.data_dir + " is not writable: " + std::strerror(errno);
  if (::flock(s->lock_fd_, LOCK_EX | LOCK_NB) != 0)
    return "data dir " + s->opts_.data_dir + " is in use by another sgd process";
  std::string bad;
  size_t skipped = 0;
  auto err = s->journal_.open(
      s->opts_.data_dir + "/registry.journal",
      [&](std::string_view payload) {
        any_record r;
        if (auto e = decode(payload, r); !e.empty()) {
          // A checksummed entry we cannot read was written by a newer sgd: skip, keep the rest.
          ++skipped;
          bad = e;
          return;
        }
        std::visit(
            [&](auto& rec) {
              s->clock_.observe(rec.st.hlc);
              s->state_.merge(rec);
            },
            r);
      },
      recovery);
  if (!err.empty()) return err;
  s->set_compact_threshold(s->live_bytes());
  if (skipped)
    log::warn("journal entries skipped", {{"count", std::to_string(skipped)}, {"last_error", bad}});
  out = std::move(s);
  return {};
}

template <class Record>
uint64_t registry_store::fresh_stamp(const Record& r) {
  // Above the record it replaces too: a write made after reading a value must beat that value,
  // even one stamped by a peer whose clock was further ahead than the clock adopts.
  const Record* cur = nullptr;
  if constexpr (std::is_same_v<Record, group_record>)
    cur = current(staged_groups_, state_.groups(), key_of(r));
  else
    cur = current(staged_nodes_, state_.nodes(), key_of(r));
  auto t = clock_.now();
  return cur && cur->st.hlc >= t ? cur->st.hlc + 1 : t;
}

staged_batch registry_store::stage_local(std::vector<any_record> batch) {
  staged_batch out;
  out.payloads.reserve(batch.size());
  for (auto& r : batch)
    std::visit(
        [&](auto& rec) {
          // A caller may stamp a record low on purpose (an implicit group creation yields to
          // any explicit write); the clock still moves past it.
          if (rec.st.hlc == 0)
            rec.st.hlc = fresh_stamp(rec);
          else
            clock_.observe(rec.st.hlc);
          rec.st.origin = opts_.controller_id;
          out.payloads.push_back(encode(rec));
          if constexpr (std::is_same_v<std::decay_t<decltype(rec)>, group_record>)
            stage_into(staged_groups_, rec);
          else
            stage_into(staged_nodes_, rec);
        },
        r);
  out.records = std::move(batch);
  return out;
}

staged_batch registry_store::stage_remote(const std::vector<group_record>& groups,
                                          const std::vector<node_record>& nodes) {
  // Only records newer than ours go to disk: replaying a peer's whole state costs nothing twice.
  staged_batch out;
  auto take = [&](auto& staged, const auto& durable, const auto& r) {
    auto* cur = current(staged, durable, key_of(r));
    if (cur && !newer(r.st, r.deleted, cur->st, cur->deleted)) return;
    clock_.observe(r.st.hlc);  // bounded: a peer far ahead does not drag our clock along
    stage_into(staged, r);
    out.records.emplace_back(r);
    out.payloads.push_back(encode(r));
  };
  for (auto& g : groups) take(staged_groups_, state_.groups(), g);
  for (auto& n : nodes) take(staged_nodes_, state_.nodes(), n);
  return out;
}

void registry_store::complete(const staged_batch& batch, bool durable) {
  for (auto& r : batch.records)
    std::visit(
        [&](auto& rec) {
          if (durable) state_.merge(rec);
          if constexpr (std::is_same_v<std::decay_t<decltype(rec)>, group_record>)
            unstage(staged_groups_, rec);
          else
            unstage(staged_nodes_, rec);
        },
        r);
}

std::string registry_store::commit(std::vector<any_record> batch,
                                   std::vector<any_record>* stamped) {
  auto staged = stage_local(std::move(batch));
  auto err = journal_.append(staged.payloads);
  complete(staged, err.empty());
  if (!err.empty()) return err;
  if (stamped) *stamped = std::move(staged.records);
  if (compaction_due())
    if (auto e = compact(); !e.empty()) log::error("journal compaction failed", {{"error", e}});
  return {};
}

std::string registry_store::merge_remote(const std::vector<group_record>& groups,
                                         const std::vector<node_record>& nodes,
                                         std::vector<any_record>& won) {
  auto staged = stage_remote(groups, nodes);
  if (staged.empty()) return {};
  auto err = journal_.append(staged.payloads);
  complete(staged, err.empty());
  if (!err.empty()) return err;
  won = std::move(staged.records);
  if (compaction_due())
    if (auto e = compact(); !e.empty()) log::error("journal compaction failed", {{"error", e}});
  return {};
}

const group_record* registry_store::any_group(const std::string& name) const {
  return current(staged_groups_, state_.groups(), name);
}

const group_record* registry_store::group(const std::string& name) const {
  auto* g = any_group(name);
  return g && !g->deleted ? g : nullptr;
}

const node_record* registry_store::node(const std::string& node_id) const {
  auto* n = current(staged_nodes_, state_.nodes(), node_id);
  return n && !n->deleted ? n : nullptr;
}

std::vector<const node_record*> registry_store::nodes_of(const std::string& group) const {
  auto out = state_.nodes_of(group);
  if (staged_nodes_.empty()) return out;
  std::map<std::string, const node_record*> by_id;
  for (auto* n : out) by_id[n->spec.node_id] = n;
  for (auto& [id, n] : staged_nodes_) {
    if (n.spec.group != group) continue;
    if (n.deleted)
      by_id.erase(id);
    else
      by_id[id] = &n;
  }
  out.clear();
  for (auto& [id, n] : by_id) out.push_back(n);
  return out;
}

uint64_t registry_store::horizon_ms() const {
  auto now = opts_.clock();
  return now > opts_.tombstone_ttl_ms ? now - opts_.tombstone_ttl_ms : 0;
}

size_t registry_store::collect_tombstones() {
  return state_.collect_tombstones(hlc_clock::from_ms(horizon_ms()));
}

uint64_t registry_store::live_bytes() const {
  uint64_t live = 0;
  for (auto& [k, g] : state_.groups()) live += encode(g).size() + 8;
  for (auto& [k, n] : state_.nodes()) live += encode(n).size() + 8;
  return live;
}

void registry_store::set_compact_threshold(uint64_t live) {
  compact_at_ = std::max<uint64_t>(opts_.compact_min_bytes,
                                   static_cast<uint64_t>(opts_.compact_ratio * double(live)));
}

std::vector<std::string> registry_store::compaction_payloads() {
  collect_tombstones();
  std::vector<std::string> payloads;
  payloads.reserve(state_.record_count());
  for (auto& [k, g] : state_.groups()) payloads.push_back(encode(g));
  for (auto& [k, n] : state_.nodes()) payloads.push_back(encode(n));
  return payloads;
}

void registry_store::compacted(const std::string& err, uint64_t before) {
  if (!err.empty()) {
    compact_at_ = journal_.size_bytes() * 2;  // do not retry on every write
    log::error("journal compaction failed", {{"error", err}});
    return;
  }
  set_compact_threshold(journal_.size_bytes());
  log::info("journal compacted", {{"bytes_before", std::to_string(before)},
                                  {"bytes_after", std::to_string(journal_.size_bytes())},
                                  {"records", std::to_string(state_.record_count())}});
}

std::string registry_store::compact() {
  auto before = journal_.size_bytes();
  auto err = journal_.rewrite(compaction_payloads());
  compacted(err, before);
  return err;
}

}  // namespace sg
