#include "cluster/registry_store.hpp"

#include "metrics/log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sg {

registry_store::registry_store(store_options opts) : opts_(std::move(opts)), clock_(opts_.clock) {}

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

std::string registry_store::commit(std::vector<any_record> batch,
                                   std::vector<any_record>* stamped) {
  std::vector<std::string> payloads;
  payloads.reserve(batch.size());
  for (auto& r : batch)
    std::visit(
        [&](auto& rec) {
          // A caller may stamp a record low on purpose (an implicit group creation yields to
          // any explicit write); the clock still moves past it.
          if (rec.st.hlc == 0)
            rec.st.hlc = clock_.now();
          else
            clock_.observe(rec.st.hlc);
          rec.st.origin = opts_.controller_id;
          payloads.push_back(encode(rec));
        },
        r);
  if (auto err = journal_.append(payloads); !err.empty()) return err;
  for (auto& r : batch) std::visit([&](auto& rec) { state_.merge(rec); }, r);
  if (stamped) *stamped = std::move(batch);
  if (journal_.size_bytes() > compact_at_)
    if (auto e = compact(); !e.empty()) log::error("journal compaction failed", {{"error", e}});
  return {};
}

std::string registry_store::merge_remote(const std::vector<group_record>& groups,
                                         const std::vector<node_record>& nodes,
                                         std::vector<any_record>& won) {
  // Only records newer than ours go to disk: replaying a peer's whole state costs nothing twice.
  auto wins = [](const auto& map, const std::string& key, const auto& r) {
    auto i = map.find(key);
    return i == map.end() || newer(r.st, r.deleted, i->second.st, i->second.deleted);
  };
  std::vector<std::string> payloads;
  for (auto& g : groups)
    if (wins(state_.groups(), g.spec.name, g)) {
      won.emplace_back(g);
      payloads.push_back(encode(g));
    }
  for (auto& n : nodes)
    if (wins(state_.nodes(), n.spec.node_id, n)) {
      won.emplace_back(n);
      payloads.push_back(encode(n));
    }
  if (payloads.empty()) return {};
  if (auto err = journal_.append(payloads); !err.empty()) {
    won.clear();
    return err;
  }
  for (auto& r : won)
    std::visit(
        [&](auto& rec) {
          clock_.observe(rec.st.hlc);
          state_.merge(rec);
        },
        r);
  if (journal_.size_bytes() > compact_at_)
    if (auto e = compact(); !e.empty()) log::error("journal compaction failed", {{"error", e}});
  return {};
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

std::string registry_store::compact() {
  auto now_ms = opts_.clock();
  if (now_ms > opts_.tombstone_ttl_ms)
    state_.collect_tombstones(hlc_clock::from_ms(now_ms - opts_.tombstone_ttl_ms));
  std::vector<std::string> payloads;
  for (auto& [k, g] : state_.groups()) payloads.push_back(encode(g));
  for (auto& [k, n] : state_.nodes()) payloads.push_back(encode(n));
  auto before = journal_.size_bytes();
  if (auto err = journal_.rewrite(payloads); !err.empty()) {
    compact_at_ = journal_.size_bytes() * 2;  // do not retry on every write
    return err;
  }
  set_compact_threshold(journal_.size_bytes());
  log::info("journal compacted", {{"bytes_before", std::to_string(before)},
                                  {"bytes_after", std::to_string(journal_.size_bytes())},
                                  {"records", std::to_string(payloads.size())}});
  return {};
}

}  // namespace sg
