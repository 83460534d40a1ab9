// The registry actor's replication half: deltas to peers, anti-entropy (bucket repairs, and a
// full state transfer for a controller that was away longer than the tombstone horizon), clock
// offsets measured on every round, and the refusal of writes while our clock is off.
#include "actors/errors.hpp"
#include "actors/timeouts.hpp"
#include "cluster/cluster_protocol.hpp"
#include "cluster/files.hpp"
#include "cluster/journal_writer.hpp"
#include "cluster/registry_internal.hpp"
#include "metrics/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <set>

namespace sg::registry {

namespace {

using namespace std::chrono_literals;

constexpr auto digest_timeout = 5s;
constexpr auto clock_timeout = 2s;
constexpr int64_t clock_sample_max_age_ms = 10'000;  // older offsets no longer count

void split(const std::vector<any_record>& records, std::vector<group_record>& groups,
           std::vector<node_record>& nodes) {
  for (auto& r : records) {
    if (auto* g = std::get_if<group_record>(&r))
      groups.push_back(*g);
    else
      nodes.push_back(std::get<node_record>(r));
  }
}

std::string digest_hex(const registry_state::digest_type& d) {
  uint64_t h = 14695981039346656037ull;
  for (auto x : d) h = (h ^ x) * 1099511628211ull;
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string contact_path(self_ptr self) {
  return store_of(self).options().data_dir + "/cluster-contact";
}

freshness my_freshness(self_ptr self) {
  return freshness{self->state.last_contact_ms, store_of(self).horizon_ms()};
}

peer_entry* peer_by_id(self_ptr self, const std::string& id) {
  for (auto& [addr, p] : self->state.peers)
    if (p.controller_id == id) return &p;
  return nullptr;
}

// We completed an exchange with a peer: our state is current as of now. Persisted (through the
// journal writer, off this thread) often enough to stay well inside the tombstone TTL.
void touch_contact(self_ptr self) {
  auto& st = self->state;
  auto now = static_cast<uint64_t>(now_ms());
  st.last_contact_ms = now;
  auto every = std::clamp<uint64_t>(store_of(self).options().tombstone_ttl_ms / 4, 250, 5000);
  if (now - st.contact_saved_ms < every) return;
  st.contact_saved_ms = now;
  self->request(st.journal, timeouts::journal_write, jfile_atom::value, contact_path(self),
                std::to_string(now) + "\n")
      .then(
          [](const std::string& err) {
            if (!err.empty()) log::warn("cannot save cluster contact time", {{"error", err}});
          },
          [](caf::error&) {});
}

// Our clock minus the peers' (median of the measured ones; of the two middle values the one
// closer to zero), and how many measured peers are further off than the bound.
struct skew_view {
  bool measured = false;
  int64_t offset_ms = 0;
  size_t peers = 0, off = 0;
};

skew_view skew_of(self_ptr self) {
  skew_view v;
  std::vector<int64_t> mine;
  auto bound = static_cast<int64_t>(store_of(self).options().max_clock_offset_ms);
  auto now = now_ms();
  for (auto& [addr, p] : self->state.peers) {
    if (!p.connected || !p.clock_measured || now - p.clock_at_ms > clock_sample_max_age_ms)
      continue;
    mine.push_back(-p.clock_offset_ms);
    if (std::abs(p.clock_offset_ms) > bound) ++v.off;
  }
  v.peers = mine.size();
  if (mine.empty()) return v;
  std::sort(mine.begin(), mine.end());
  auto lo = mine[(mine.size() - 1) / 2], hi = mine[mine.size() / 2];
  v.measured = true;
  v.offset_ms = std::abs(lo) <= std::abs(hi) ? lo : hi;
  return v;
}

void publish_skew(self_ptr self) {
  auto v = skew_of(self);
  auto& stats = *self->state.args.stats;
  std::map<std::string, int64_t> offsets;
  for (auto& [addr, p] : self->state.peers)
    if (p.connected && p.clock_measured) offsets[addr] = p.clock_offset_ms;
  stats.set_peer_offsets(std::move(offsets));
  stats.clock_measured = v.measured;
  stats.clock_offset_ms = v.offset_ms;
  // "Most of its peers" counts every configured peer, measured or not: a controller that has so
  // far measured only the one skewed peer is not the one that is off.
  bool refuse = v.off * 2 > std::max(v.peers, self->state.peers.size());
  if (refuse != stats.writes_refused.load())
    log::warn(refuse ? "clock skew: refusing writes" : "clock skew resolved: accepting writes",
              {{"offset_ms", std::to_string(v.offset_ms)},
               {"max_offset_ms", std::to_string(store_of(self).options().max_clock_offset_ms)},
               {"peers_off", std::to_string(v.off)},
               {"peers_measured", std::to_string(v.peers)}});
  stats.writes_refused = refuse;
}

// One clock sample: the peer's wall clock against the midpoint of our round trip.
void measure_clock(self_ptr self, const std::string& address) {
  auto i = self->state.peers.find(address);
  if (i == self->state.peers.end() || !i->second.connected || i->second.clock_pending) return;
  i->second.clock_pending = true;
  auto t0 = now_ms();
  self->request(i->second.gate, clock_timeout, clock_atom::value, store_of(self).controller_id())
      .then(
          [=](uint64_t remote) {
            auto t1 = now_ms();
            auto j = self->state.peers.find(address);
            if (j == self->state.peers.end()) return;
            auto& p = j->second;
            p.clock_pending = false;
            // A slow round trip bounds the error by half of it: keep the previous sample then.
            auto rtt = t1 - t0;
            if (p.clock_measured && rtt > p.rtt_ms * 4 + 50) return;
            p.clock_offset_ms = static_cast<int64_t>(remote) - (t0 + t1) / 2;
            p.rtt_ms = rtt;
            p.clock_at_ms = t1;
            p.clock_measured = true;
            publish_skew(self);
          },
          [=](caf::error&) {
            if (auto j = self->state.peers.find(address); j != self->state.peers.end())
              j->second.clock_pending = false;
          });
}

void count_repairs(self_ptr self, peer_entry& p, uint64_t n) {
  p.repairs += n;
  self->state.args.stats->repairs.fetch_add(n);
}

// We were away longer than the peer's horizon: its deletes of our old records may be forgotten
// there, so merging them would bring deleted nodes back. Rebase: forget every record of ours
// older than its horizon that it does not hold, merge all of its records, and rewrite the
// journal so the forgotten ones do not return on restart.
void rebase(self_ptr self, const std::string& address, repair_msg r) {
  auto& st = self->state;
  auto& store = store_of(self);
  if (st.rebasing) return;
  st.rebasing = true;
  auto horizon = hlc_clock::from_ms(r.fresh.horizon_ms);
  std::set<std::string> groups_there, nodes_there;
  for (auto& g : r.groups) groups_there.insert(g.spec.name);
  for (auto& n : r.nodes) nodes_there.insert(n.spec.node_id);
  std::vector<any_record> dropped;
  std::set<std::string> kept_groups;  // groups of the live nodes we keep
  for (auto& [id, n] : store.state().nodes()) {
    if (n.st.hlc < horizon && !nodes_there.count(id))
      dropped.emplace_back(n);
    else if (!n.deleted)
      kept_groups.insert(n.spec.group);
  }
  // An implicitly created group is stamped low on purpose (it yields to explicit writes): it
  // stays while a node we keep lives in it.
  for (auto& [name, g] : store.state().groups())
    if (g.st.hlc < horizon && !groups_there.count(name) && !kept_groups.count(name))
      dropped.emplace_back(g);
  for (auto& d : dropped)
    std::visit(
        [&](auto& rec) {
          if constexpr (std::is_same_v<std::decay_t<decltype(rec)>, group_record>)
            store.mutable_state().erase_group(rec.spec.name);
          else
            store.mutable_state().erase_node(rec.spec.node_id);
        },
        d);
  apply_merged(self, dropped);
  st.args.stats->full_transfers.fetch_add(1);
  st.args.stats->stale_records_dropped.fetch_add(dropped.size());
  auto peer_id = st.peers.count(address) ? st.peers[address].controller_id : address;
  log::warn("stale state: full state transfer from peer",
            {{"peer", peer_id},
             {"last_contact_ms", std::to_string(st.last_contact_ms)},
             {"peer_horizon_ms", std::to_string(r.fresh.horizon_ms)},
             {"records_received", std::to_string(r.groups.size() + r.nodes.size())},
             {"stale_records_dropped", std::to_string(dropped.size())}});
  merge_from_peer(self, r.groups, r.nodes, [=](caf::expected<uint64_t> n) {
    if (!n) {
      self->state.rebasing = false;
      return;
    }
    rewrite_journal(self, [=](const std::string& err) {
      self->state.rebasing = false;
      if (!err.empty()) return;  // still stale: the next round transfers again
      self->state.contact_saved_ms = 0;
      touch_contact(self);
    });
  });
}

// One anti-entropy round with a peer: send our digest, take the peer's records of the differing
// buckets, and send ours of the same buckets back. Also samples the peer's clock.
void anti_entropy(self_ptr self, const std::string& address) {
  auto& st = self->state;
  auto i = st.peers.find(address);
  if (i == st.peers.end() || !i->second.connected) return;
  measure_clock(self, address);
  if (i->second.digest_pending || st.rebasing) return;
  i->second.digest_pending = true;
  auto& s = store_of(self).state();
  digest_msg d{store_of(self).controller_id(), s.digest(), s.max_hlc(), my_freshness(self)};
  self->request(i->second.gate, digest_timeout, digest_atom::value, std::move(d))
      .then(
          [=](repair_msg& r) {
            auto j = self->state.peers.find(address);
            if (j == self->state.peers.end()) return;
            auto& p = j->second;
            p.digest_pending = false;
            p.last_seen_ms = now_ms();
            if (r.mode == repair_mode::refused) return;  // it rebases on us first
            if (r.mode == repair_mode::full) return rebase(self, address, std::move(r));
            p.lagging = false;
            touch_contact(self);
            auto ours = store_of(self).state().max_hlc();
            p.lag_ms = ours > r.max_hlc ? static_cast<int64_t>(hlc_clock::physical_part(ours) -
                                                               hlc_clock::physical_part(r.max_hlc))
                                        : 0;
            if (!r.groups.empty() || !r.nodes.empty()) {
              merge_from_peer(self, r.groups, r.nodes, [=](caf::expected<uint64_t> n) {
                if (!n) return;
                if (auto k = self->state.peers.find(address); k != self->state.peers.end())
                  count_repairs(self, k->second, *n);
              });
            }
            if (std::find(r.buckets.begin(), r.buckets.end(), 1) == r.buckets.end()) {
              p.lag_ms = 0;
              return;
            }
            std::vector<group_record> groups;
            std::vector<node_record> nodes;
            store_of(self).state().collect(r.buckets, groups, nodes);
            // Only what the peer lacks or has older matters, but it decides: send the buckets.
            count_repairs(self, p, groups.size() + nodes.size());
            self->request(p.gate, digest_timeout, repl_atom::value,
                          store_of(self).controller_id(), groups, nodes)
                .then([](uint64_t) {}, [](caf::error&) {});
          },
          [=](caf::error&) {
            if (auto j = self->state.peers.find(address); j != self->state.peers.end())
              j->second.digest_pending = false;
          });
}

repair_msg answer_digest(self_ptr self, const digest_msg& d) {
  auto& store = store_of(self);
  auto& s = store.state();
  repair_msg out;
  out.max_hlc = s.max_hlc();
  out.fresh = my_freshness(self);
  if (needs_transfer(d.fresh, d.from, out.fresh, store.controller_id())) {
    // The asker was away longer than our horizon: everything, nothing taken from it.
    out.mode = repair_mode::full;
    out.buckets.assign(registry_state::digest_buckets, 1);
    s.collect(out.buckets, out.groups, out.nodes);
    return out;
  }
  if (self->state.rebasing || needs_transfer(out.fresh, store.controller_id(), d.fresh, d.from)) {
    // We are the stale one: ask it for everything instead of handing it our old records.
    out.mode = repair_mode::refused;
    for (auto& [addr, p] : self->state.peers)
      if (p.controller_id == d.from && p.connected) self->send(self, ae_tick_atom::value, addr);
    return out;
  }
  out.buckets.assign(registry_state::digest_buckets, 0);
  auto& mine = s.digest();
  for (size_t b = 0; b < mine.size() && b < d.buckets.size(); ++b)
    out.buckets[b] = mine[b] != d.buckets[b] ? 1 : 0;
  s.collect(out.buckets, out.groups, out.nodes);
  touch_contact(self);
  return out;
}

}  // namespace

void replicate(self_ptr self, const std::vector<any_record>& records,
               std::function<void(int32_t)> done) {
  std::vector<group_record> groups;
  std::vector<node_record> nodes;
  split(records, groups, nodes);
  struct tally {
    int pending = 0;
    int32_t replicas = 1;
    std::function<void(int32_t)> done;
  };
  auto t = std::make_shared<tally>();
  t->done = std::move(done);
  auto& st = self->state;
  for (auto& [addr, p] : st.peers) {
    if (!p.connected || p.lagging) continue;
    ++t->pending;
    ++p.sent;
    st.args.stats->deltas_sent.fetch_add(1, std::memory_order_relaxed);
    auto address = addr;
    self->request(p.gate, st.args.replication_timeout, repl_atom::value,
                  store_of(self).controller_id(), groups, nodes)
        .then(
            [=](uint64_t) {
              ++t->replicas;
              if (auto i = self->state.peers.find(address); i != self->state.peers.end())
                i->second.last_seen_ms = now_ms();
              if (--t->pending == 0) t->done(t->replicas);
            },
            [=](caf::error& e) {
              log::warn("replication to peer failed",
                        {{"peer", address}, {"error", caf::to_string(e)}});
              // Treated as disconnected for writes (no more 1 s waits) until anti-entropy
              // reaches it again and brings it up to date.
              if (auto i = self->state.peers.find(address); i != self->state.peers.end())
                i->second.lagging = true;
              if (--t->pending == 0) t->done(t->replicas);
            });
  }
  if (t->pending == 0) t->done(t->replicas);
}

caf::error clock_refusal(self_ptr self) {
  if (!self->state.args.stats->writes_refused.load()) return {};
  auto v = skew_of(self);
  char msg[256];
  std::snprintf(msg, sizeof msg,
                "this controller's clock is off from its peers by %+" PRId64
                " ms (bound %" PRIu64
                " ms, --max-clock-offset); writes are refused until the clock is fixed",
                v.offset_ms, store_of(self).options().max_clock_offset_ms);
  return make_error(sg_errc::clock_skew, msg);
}

void start_cluster(self_ptr self) {
  auto& st = self->state;
  auto saved = read_small_file(contact_path(self));
  st.last_contact_ms = std::strtoull(saved.c_str(), nullptr, 10);
  self->delayed_send(self, st.args.anti_entropy_interval, ae_tick_atom::value);
}

caf::message_handler cluster_handlers(self_ptr self) {
  return {
      // Peers come and go through their links; deltas and digests arrive via the gate.
      [=](peer_up_atom, const std::string& address, const std::string& id, caf::actor gate) {
        auto& p = self->state.peers[address];
        if (!p.connected) self->state.args.stats->peers_up.fetch_add(1);
        p.controller_id = id;
        p.gate = std::move(gate);
        p.connected = true;
        p.gate_ever = true;
        p.digest_pending = false;
        p.clock_pending = false;
        p.clock_measured = false;
        p.lagging = false;
        p.last_seen_ms = now_ms();
        anti_entropy(self, address);  // catch up at once on every (re)connect
      },
      [=](peer_down_atom, const std::string& address) {
        auto i = self->state.peers.find(address);
        if (i == self->state.peers.end() || !i->second.connected) return;
        i->second.connected = false;
        i->second.gate = caf::actor{};
        i->second.clock_measured = false;
        self->state.args.stats->peers_up.fetch_sub(1);
        publish_skew(self);
      },
      [=](link_atom, const std::string& address, caf::actor link) {
        self->state.peers[address].link = std::move(link);
      },
      // A peer authenticated at our gate: if our own link to it is down (in backoff), it is
      // back: reconnect now, so our writes reach it at once and not after the backoff.
      [=](peer_seen_atom, const std::string& id) {
        auto* known = peer_by_id(self, id);
        for (auto& [addr, p] : self->state.peers)
          if (!p.connected && p.link && (!known || known == &p))
            self->send(p.link, kick_atom::value);
      },
      [=](repl_atom, const std::string& from, const std::vector<group_record>& groups,
          const std::vector<node_record>& nodes) {
        self->state.args.stats->deltas_received.fetch_add(1, std::memory_order_relaxed);
        if (auto* p = peer_by_id(self, from)) {
          ++p->received;
          p->last_seen_ms = now_ms();
        }
        auto rp = self->make_response_promise<uint64_t>();
        merge_from_peer(self, groups, nodes, [rp](caf::expected<uint64_t> n) mutable {
          if (n)
            rp.deliver(*n);
          else
            rp.deliver(n.error());
        });
        return rp;
      },
      [=](digest_atom, const digest_msg& d) {
        if (auto* p = peer_by_id(self, d.from)) p->last_seen_ms = now_ms();
        return answer_digest(self, d);
      },
      [=](ae_tick_atom) {
        auto& st = self->state;
        for (auto& [addr, p] : st.peers) anti_entropy(self, addr);
        publish_skew(self);
        // Forget tombstones past the TTL a few times per TTL (and at least every minute).
        auto every = std::clamp<int64_t>(
            static_cast<int64_t>(store_of(self).options().tombstone_ttl_ms / 4), 250, 60'000);
        if (auto now = now_ms(); now - st.tombstones_collected_ms >= every) {
          st.tombstones_collected_ms = now;
          if (auto n = store_of(self).collect_tombstones())
            log::info("tombstones forgotten", {{"count", std::to_string(n)}});
        }
        self->delayed_send(self, st.args.anti_entropy_interval, ae_tick_atom::value);
      },
      // An early round with one peer (it asked us to rebase on it).
      [=](ae_tick_atom, const std::string& address) { anti_entropy(self, address); },
      [=](cl_info_atom) {
        auto& st = self->state;
        auto& s = store_of(self).state();
        auto v = skew_of(self);
        cluster_info out;
        out.controller_id = store_of(self).controller_id();
        out.cluster_address = st.args.cluster_address;
        out.digest = digest_hex(s.digest());
        out.records = s.record_count();
        out.tombstones = s.tombstone_count();
        out.max_clock_offset_ms = static_cast<int64_t>(store_of(self).options().max_clock_offset_ms);
        out.clock_measured = v.measured;
        out.clock_offset_ms = v.offset_ms;
        out.writes_refused = st.args.stats->writes_refused.load();
        out.full_transfers = st.args.stats->full_transfers.load();
        out.stale_records_dropped = st.args.stats->stale_records_dropped.load();
        for (auto& [addr, p] : st.peers)
          out.peers.push_back(peer_info{addr,
                                        p.controller_id,
                                        p.connected   ? (p.lagging ? "lagging" : "connected")
                                        : p.gate_ever ? "disconnected"
                                                      : "connecting",
                                        p.last_seen_ms,
                                        p.lag_ms,
                                        p.sent,
                                        p.received,
                                        p.repairs,
                                        p.connected && p.clock_measured,
                                        p.clock_offset_ms,
                                        p.rtt_ms});
        return out;
      },
  };
}

}  // namespace sg::registry
