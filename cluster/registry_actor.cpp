#include "cluster/registry_actor.hpp"

#include "actors/errors.hpp"
#include "actors/group_actor.hpp"
#include "actors/messages.hpp"
#include "actors/spec_json.hpp"
#include "cluster/cluster_protocol.hpp"
#include "metrics/log.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <set>

namespace sg {

namespace {

using namespace std::chrono_literals;
using self_ptr = caf::stateful_actor<registry_actor_state>*;

// A registration may wait for the node's first health check (timeoutMs is at most 60 s).
constexpr auto group_reply_timeout = 70s;

const registry_state& state_of(self_ptr self) {
  return self->state.args.store->state();
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

caf::error no_group(const std::string& name) {
  return make_error(sg_errc::group_not_found, "no group named '" + name + "'");
}

caf::error no_node(const std::string& group, const std::string& id) {
  return make_error(sg_errc::node_not_found, "no node '" + id + "' in group '" + group + "'");
}

void split(const std::vector<any_record>& records, std::vector<group_record>& groups,
           std::vector<node_record>& nodes) {
  for (auto& r : records) {
    if (auto* g = std::get_if<group_record>(&r))
      groups.push_back(*g);
    else
      nodes.push_back(std::get<node_record>(r));
  }
}

std::vector<node_spec> node_specs_of(self_ptr self, const std::string& group) {
  std::vector<node_spec> out;
  for (auto* n : state_of(self).nodes_of(group)) out.push_back(n->spec);
  return out;
}

// The group's actor, spawned if needed. A new one is told every live node record of its group
// at once: records may exist before their group does (a registration replicated ahead of it, or
// nodes left live under a group deleted concurrently and now recreated).
caf::actor ensure_group_actor(self_ptr self, const group_spec& spec, bool* spawned = nullptr) {
  auto& st = self->state;
  auto i = st.groups.find(spec.name);
  if (spawned) *spawned = i == st.groups.end();
  if (i != st.groups.end()) return i->second;
  auto g =
      self->spawn(group_actor, group_actor_args{spec, st.args.table, st.args.probes,
                                                caf::actor_cast<caf::actor>(self), st.args.events});
  st.groups.emplace(spec.name, g);
  if (auto nodes = node_specs_of(self, spec.name); !nodes.empty())
    self->send(g, spec_atom::value, std::move(nodes));
  return g;
}

void stop_group_actor(self_ptr self, const std::string& name) {
  auto& st = self->state;
  if (auto i = st.groups.find(name); i != st.groups.end()) {
    self->send_exit(i->second, caf::exit_reason::user_shutdown);
    st.groups.erase(i);
  }
  st.counts.erase(name);
}

// Brings the group actors in line with records that won a merge from a peer: only what changed
// is sent (a delta of one node costs one message, not the group's whole node list).
void apply_merged(self_ptr self, const std::vector<any_record>& won) {
  auto& s = state_of(self);
  std::set<std::string> fresh;  // spawned here: they already got every node
  for (auto& r : won) {
    auto* g = std::get_if<group_record>(&r);
    if (!g) continue;
    auto* live = s.group(g->spec.name);
    if (!live) {
      stop_group_actor(self, g->spec.name);
      continue;
    }
    bool spawned = false;
    auto actor = ensure_group_actor(self, live->spec, &spawned);
    if (spawned)
      fresh.insert(g->spec.name);
    else
      self->send(actor, spec_atom::value, live->spec);
  }
  for (auto& r : won) {
    auto* n = std::get_if<node_record>(&r);
    if (!n || fresh.count(n->spec.group)) continue;
    auto i = self->state.groups.find(n->spec.group);
    if (i == self->state.groups.end()) continue;  // its group is not live here (yet)
    if (auto* now = s.node(n->spec.node_id); now && now->spec.group == n->spec.group)
      self->send(i->second, spec_atom::value, now->spec);
    else
      self->send(i->second, node_del_atom::value, n->spec.node_id);
  }
}

// Sends stamped records to every connected peer and calls `done(replicas)` once each has
// journaled them or timed out (a peer that misses a delta catches up through anti-entropy).
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
                  st.args.store->controller_id(), groups, nodes)
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

// Commits a batch locally (durable), then replicates it; `done` gets the replica count.
// Returns the storage error if the local commit failed (then nothing happened).
caf::error write(self_ptr self, std::vector<any_record> batch, std::function<void(int32_t)> done) {
  std::vector<any_record> stamped;
  if (auto err = self->state.args.store->commit(std::move(batch), &stamped); !err.empty()) {
    log::error("registry write failed", {{"error", err}});
    return make_error(sg_errc::storage_failed, "write not stored: " + err);
  }
  replicate(self, stamped, std::move(done));
  return {};
}

// Waits for both the group actor's answer and the replica count, then answers the client.
template <class T>
struct joined_reply {
  caf::response_promise rp;
  std::optional<T> value;
  std::optional<int32_t> replicas;
  caf::error err;
  void try_deliver() {
    if (err) {
      if (replicas) rp.deliver(err);
      return;
    }
    if (!value || !replicas) return;
    value->replicas = *replicas;
    rp.deliver(std::move(*value));
  }
};

// Asks the group actor for the node's view with `msg`, replicates `batch`, answers both.
void write_node(self_ptr self, caf::response_promise rp, std::vector<any_record> batch,
                node_spec next, bool created) {
  auto j = std::make_shared<joined_reply<register_result>>();
  j->rp = std::move(rp);
  auto on_replicated = [j](int32_t n) {
    j->replicas = n;
    j->try_deliver();
  };
  if (!batch.empty()) {
    if (auto err = write(self, std::move(batch), on_replicated)) return j->rp.deliver(err), void();
  } else {
    on_replicated(1);
  }
  auto g = ensure_group_actor(self, state_of(self).group(next.group)->spec);
  self->request(g, group_reply_timeout, node_put_atom::value, std::move(next), created)
      .then(
          [j](register_result& r) {
            j->value = std::move(r);
            j->try_deliver();
          },
          [j](caf::error& e) {
            j->err = e;
            j->try_deliver();
          });
}

// Looks up a live node of a live group, or says which one is missing.
caf::error find_node(self_ptr self, const std::string& group, const std::string& id,
                     const node_record*& out) {
  auto& s = state_of(self);
  if (!s.group(group)) return no_group(group);
  out = s.node(id);
  if (!out || out->spec.group != group) return no_node(group, id);
  return {};
}

controller_info info_of(self_ptr self) {
  auto& s = state_of(self);
  int32_t nodes = 0;
  for (auto& [id, n] : s.nodes()) nodes += n.deleted ? 0 : 1;
  return controller_info{self->state.args.store->controller_id(), self->state.draining,
                         static_cast<int32_t>(s.live_groups().size()), nodes,
                         self->state.args.store->journal_bytes()};
}

// Merges records from a peer, makes the winners durable and brings group actors in line.
// Returns how many records won, or the storage error.
caf::expected<uint64_t> merge_from_peer(self_ptr self, const std::vector<group_record>& groups,
                                        const std::vector<node_record>& nodes) {
  std::vector<any_record> won;
  if (auto err = self->state.args.store->merge_remote(groups, nodes, won); !err.empty())
    return make_error(sg_errc::storage_failed, "merge not stored: " + err);
  apply_merged(self, won);
  return static_cast<uint64_t>(won.size());
}

std::string digest_hex(const registry_state::digest_type& d) {
  uint64_t h = 14695981039346656037ull;
  for (auto x : d) h = (h ^ x) * 1099511628211ull;
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// One anti-entropy round with a peer: send our digest, take the peer's records of the differing
// buckets, and send ours of the same buckets back.
void anti_entropy(self_ptr self, const std::string& address) {
  auto& st = self->state;
  auto i = st.peers.find(address);
  if (i == st.peers.end() || !i->second.connected || i->second.digest_pending) return;
  i->second.digest_pending = true;
  auto& s = state_of(self);
  digest_msg d{st.args.store->controller_id(), s.digest(), s.max_hlc()};
  self->request(i->second.gate, 5s, digest_atom::value, std::move(d))
      .then(
          [=](repair_msg& r) {
            auto j = self->state.peers.find(address);
            if (j == self->state.peers.end()) return;
            auto& p = j->second;
            p.digest_pending = false;
            p.lagging = false;
            p.last_seen_ms = now_ms();
            auto ours = state_of(self).max_hlc();
            p.lag_ms = ours > r.max_hlc ? static_cast<int64_t>(hlc_clock::physical_part(ours) -
                                                               hlc_clock::physical_part(r.max_hlc))
                                        : 0;
            uint64_t repaired = 0;
            if (!r.groups.empty() || !r.nodes.empty()) {
              auto n = merge_from_peer(self, r.groups, r.nodes);
              if (n) repaired += *n;
            }
            if (std::find(r.buckets.begin(), r.buckets.end(), 1) == r.buckets.end()) {
              p.lag_ms = 0;
              if (repaired) {
                p.repairs += repaired;
                self->state.args.stats->repairs.fetch_add(repaired);
              }
              return;
            }
            std::vector<group_record> groups;
            std::vector<node_record> nodes;
            state_of(self).collect(r.buckets, groups, nodes);
            // Only what the peer lacks or has older matters, but it decides: send the buckets.
            p.repairs += repaired + groups.size() + nodes.size();
            self->state.args.stats->repairs.fetch_add(repaired + groups.size() + nodes.size());
            self->request(p.gate, 5s, repl_atom::value, self->state.args.store->controller_id(),
                          groups, nodes)
                .then([](uint64_t) {}, [](caf::error&) {});
          },
          [=](caf::error&) {
            if (auto j = self->state.peers.find(address); j != self->state.peers.end())
              j->second.digest_pending = false;
          });
}

}  // namespace

caf::behavior registry_actor(caf::stateful_actor<registry_actor_state>* self,
                             registry_actor_args args) {
  self->state.args = std::move(args);
  self->set_default_handler(caf::drop);
  // Group actors do not die with us by themselves (CAF 0.17): take them down on exit.
  self->set_exit_handler([=](caf::exit_msg& em) {
    for (auto& [name, g] : self->state.groups) self->send_exit(g, em.reason);
    self->state.groups.clear();
    self->quit(em.reason);
  });
  // Bring every live group and node up from the replayed journal.
  auto& s = state_of(self);
  for (auto* g : s.live_groups()) ensure_group_actor(self, g->spec);
  for (auto& addr : self->state.args.peers) self->state.peers[addr];  // listed before they connect
  if (!self->state.args.cluster_address.empty())
    self->delayed_send(self, self->state.args.anti_entropy_interval, ae_tick_atom::value);

  return {
      [=](grp_list_atom) {
        std::vector<group_summary> out;
        for (auto* g : state_of(self).live_groups()) {
          auto i = self->state.counts.find(g->spec.name);
          out.push_back(
              group_summary{g->spec, i == self->state.counts.end() ? status_counts{} : i->second});
        }
        return out;
      },
      [=](grp_get_atom, const std::string& name) {
        auto rp = self->make_response_promise();
        if (!state_of(self).group(name)) return rp.deliver(no_group(name)), void();
        rp.delegate(self->state.groups.at(name), grp_get_atom::value);
      },
      [=](grp_put_atom, const std::string& name, const group_spec& fields, uint32_t set) {
        auto rp = self->make_response_promise();
        auto* existing = state_of(self).group(name);
        bool created = existing == nullptr;
        group_spec next = created ? group_spec{} : existing->spec;
        json::apply_group_fields(next, fields, set);
        next.name = name;
        if (auto msg = check(next); !msg.empty())
          return rp.deliver(make_error(sg_errc::invalid_argument, msg)), void();
        auto j = std::make_shared<joined_reply<group_put_reply>>();
        j->rp = rp;
        auto on_replicated = [j](int32_t n) {
          j->replicas = n;
          j->try_deliver();
        };
        if (created || !(next == existing->spec)) {
          if (auto err = write(self, {group_record{next, {}, false}}, on_replicated))
            return j->rp.deliver(err), void();
        } else {
          on_replicated(1);
        }
        auto actor = ensure_group_actor(self, next);
        if (!created) self->send(actor, spec_atom::value, next);
        self->request(actor, 10s, grp_get_atom::value)
            .then(
                [j, created](group_view& v) {
                  j->value = group_put_reply{std::move(v), created, 1};
                  j->try_deliver();
                },
                [j](caf::error& e) {
                  j->err = e;
                  j->try_deliver();
                });
      },
      [=](grp_del_atom, const std::string& name, bool force) {
        auto rp = self->make_response_promise();
        auto& s = state_of(self);
        auto* g = s.group(name);
        if (!g) return rp.deliver(no_group(name)), void();
        auto nodes = s.nodes_of(name);
        if (!nodes.empty() && !force)
          return rp.deliver(make_error(sg_errc::conflict,
                                       "group '" + name + "' still has " +
                                           std::to_string(nodes.size()) +
                                           " node(s); delete them first or use ?force=true")),
                 void();
        std::vector<any_record> batch;
        batch.push_back(group_record{g->spec, {}, true});
        for (auto* n : nodes) batch.push_back(node_record{n->spec, {}, true});
        if (auto err = write(self, std::move(batch), [rp](int32_t n) mutable { rp.deliver(n); }))
          return rp.deliver(err), void();
        stop_group_actor(self, name);
      },
      [=](node_put_atom, const std::string& group, node_spec& reg, uint32_t set) {
        auto rp = self->make_response_promise();
        if (!(set & json::nf_name) || !(set & json::nf_base_url))
          return rp.deliver(make_error(sg_errc::invalid_argument,
                                       "fields 'name' and 'baseUrl' are required")),
                 void();
        auto& s = state_of(self);
        node_spec next = reg;
        next.group = group;
        next.node_id = make_node_id(group, reg.name);
        if (!(set & json::nf_health_url)) {
          auto base = next.base_url;
          while (!base.empty() && base.back() == '/') base.pop_back();
          next.health_url = base + "/health";
        }
        auto* existing = s.node(next.node_id);
        if (existing) next.admin = existing->spec.admin;  // re-registration keeps a drain in place
        std::vector<any_record> batch;
        if (!s.group(group)) {
          // The group is created with defaults on its first registration. Its stamp sits just
          // above what this controller knows of the group (a tombstone), below any fresh stamp:
          // an implicit creation never undoes an explicit PUT or DELETE made elsewhere meanwhile.
          group_spec fresh;
          fresh.name = group;
          auto i = s.groups().find(group);
          stamp low{i == s.groups().end() ? 1 : i->second.st.hlc + 1, {}};
          batch.push_back(group_record{fresh, low, false});
        }
        if (!existing || !(existing->spec == next)) batch.push_back(node_record{next, {}, false});
        write_node(self, rp, std::move(batch), std::move(next), existing == nullptr);
      },
      [=](node_list_atom, const std::string& group) {
        auto rp = self->make_response_promise();
        if (!state_of(self).group(group)) return rp.deliver(no_group(group)), void();
        rp.delegate(self->state.groups.at(group), node_list_atom::value);
      },
      [=](node_get_atom, const std::string& group, const std::string& id) {
        auto rp = self->make_response_promise();
        const node_record* n = nullptr;
        if (auto err = find_node(self, group, id, n)) return rp.deliver(err), void();
        rp.delegate(self->state.groups.at(group), node_get_atom::value, id);
      },
      [=](node_patch_atom, const std::string& group, const std::string& id, const node_spec& fields,
          uint32_t set) {
        auto rp = self->make_response_promise();
        const node_record* n = nullptr;
        if (auto err = find_node(self, group, id, n)) return rp.deliver(err), void();
        auto next = n->spec;
        json::apply_node_fields(next, fields, set & json::nf_patch);
        std::vector<any_record> batch;
        if (!(next == n->spec)) batch.push_back(node_record{next, {}, false});
        write_node(self, rp, std::move(batch), std::move(next), false);
      },
      [=](node_admin_atom, const std::string& group, const std::string& id, admin_state a) {
        auto rp = self->make_response_promise();
        const node_record* n = nullptr;
        if (auto err = find_node(self, group, id, n)) return rp.deliver(err), void();
        auto next = n->spec;
        next.admin = a;
        std::vector<any_record> batch;
        if (!(next == n->spec)) batch.push_back(node_record{next, {}, false});
        write_node(self, rp, std::move(batch), std::move(next), false);
      },
      [=](node_del_atom, const std::string& group, const std::string& id) {
        auto rp = self->make_response_promise();
        const node_record* n = nullptr;
        if (auto err = find_node(self, group, id, n)) return rp.deliver(err), void();
        if (auto err = write(self, {node_record{n->spec, {}, true}},
                             [rp](int32_t r) mutable { rp.deliver(r); }))
          return rp.deliver(err), void();
        self->send(self->state.groups.at(group), node_del_atom::value, id);
      },
      [=](counts_atom, const std::string& group, status_counts counts) {
        if (self->state.groups.count(group)) self->state.counts[group] = counts;
      },
      [=](ctl_info_atom) { return info_of(self); },
      [=](ctl_drain_atom, bool drain) {
        if (self->state.draining != drain)
          log::info(drain ? "controller draining" : "controller active",
                    {{"controller", self->state.args.store->controller_id()}});
        self->state.draining = drain;
        return info_of(self);
      },

      // Cluster: peers come and go through their links; deltas and digests arrive via the gate.
      [=](peer_up_atom, const std::string& address, const std::string& id, caf::actor gate) {
        auto& p = self->state.peers[address];
        if (!p.connected) self->state.args.stats->peers_up.fetch_add(1);
        p.controller_id = id;
        p.gate = std::move(gate);
        p.connected = true;
        p.gate_ever = true;
        p.digest_pending = false;
        p.lagging = false;
        p.last_seen_ms = now_ms();
        anti_entropy(self, address);  // catch up at once on every (re)connect
      },
      [=](peer_down_atom, const std::string& address) {
        auto i = self->state.peers.find(address);
        if (i == self->state.peers.end() || !i->second.connected) return;
        i->second.connected = false;
        i->second.gate = caf::actor{};
        self->state.args.stats->peers_up.fetch_sub(1);
      },
      [=](repl_atom, const std::string& from, const std::vector<group_record>& groups,
          const std::vector<node_record>& nodes) -> caf::result<uint64_t> {
        self->state.args.stats->deltas_received.fetch_add(1, std::memory_order_relaxed);
        for (auto& [addr, p] : self->state.peers)
          if (p.controller_id == from) {
            ++p.received;
            p.last_seen_ms = now_ms();
          }
        auto n = merge_from_peer(self, groups, nodes);
        if (!n) return n.error();
        return *n;
      },
      [=](digest_atom, const digest_msg& d) {
        auto& s = state_of(self);
        auto mine = s.digest();
        repair_msg out;
        out.max_hlc = s.max_hlc();
        out.buckets.assign(registry_state::digest_buckets, 0);
        for (size_t b = 0; b < mine.size() && b < d.buckets.size(); ++b)
          out.buckets[b] = mine[b] != d.buckets[b] ? 1 : 0;
        s.collect(out.buckets, out.groups, out.nodes);
        for (auto& [addr, p] : self->state.peers)
          if (p.controller_id == d.from) p.last_seen_ms = now_ms();
        return out;
      },
      [=](ae_tick_atom) {
        for (auto& [addr, p] : self->state.peers) anti_entropy(self, addr);
        self->delayed_send(self, self->state.args.anti_entropy_interval, ae_tick_atom::value);
      },
      [=](cl_info_atom) {
        auto& st = self->state;
        auto& s = state_of(self);
        cluster_info out{st.args.store->controller_id(),
                         st.args.cluster_address,
                         {},
                         digest_hex(s.digest()),
                         s.record_count()};
        for (auto& [addr, p] : st.peers)
          out.peers.push_back(peer_info{addr, p.controller_id,
                                        p.connected   ? (p.lagging ? "lagging" : "connected")
                                        : p.gate_ever ? "disconnected"
                                                      : "connecting",
                                        p.last_seen_ms, p.lag_ms, p.sent, p.received, p.repairs});
        return out;
      },
  };
}

void add_cluster_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<stamp>("sg::stamp");
  cfg.add_message_type<group_record>("sg::group_record");
  cfg.add_message_type<node_record>("sg::node_record");
  cfg.add_message_type<controller_info>("sg::controller_info");
  cfg.add_message_type<group_put_reply>("sg::group_put_reply");
  cfg.add_message_type<digest_msg>("sg::digest_msg");
  cfg.add_message_type<repair_msg>("sg::repair_msg");
  cfg.add_message_type<peer_info>("sg::peer_info");
  cfg.add_message_type<cluster_info>("sg::cluster_info");
}

}  // namespace sg
