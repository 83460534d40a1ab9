// The registry actor's CRUD half: validation of admin writes against the current state, their
// records, and the answers (joined from the group actor's view and the replica count). The group
// commit is in registry_commit.cpp, replication in registry_replication.cpp.
#include "cluster/registry_actor.hpp"

#include "actors/errors.hpp"
#include "actors/event.hpp"
#include "actors/messages.hpp"
#include "actors/spec_json.hpp"
#include "actors/timeouts.hpp"
#include "cluster/cluster_protocol.hpp"
#include "cluster/hlc.hpp"
#include "cluster/journal_writer.hpp"
#include "cluster/registry_internal.hpp"
#include "metrics/log.hpp"

#include <caf/all.hpp>

#include <optional>

namespace sg {

namespace {

using namespace registry;
using namespace std::chrono_literals;

caf::error no_group(const std::string& name) {
  return make_error(sg_errc::group_not_found, "no group named '" + name + "'");
}

caf::error no_node(const std::string& group, const std::string& id) {
  return make_error(sg_errc::node_not_found, "no node '" + id + "' in group '" + group + "'");
}

// Waits for both the group actor's answer and the replica count, then answers the client.
template <class T>
struct joined_reply {
  caf::response_promise rp;
  std::optional<T> value;
  std::optional<int32_t> replicas;
  caf::error err;
  bool done = false;
  void fail(caf::error e) {
    if (done) return;
    done = true;
    rp.deliver(std::move(e));
  }
  void try_deliver() {
    if (done) return;
    if (err) return fail(err);
    if (!value || !replicas) return;
    done = true;
    value->replicas = *replicas;
    rp.deliver(std::move(*value));
  }
  // The group actor's answer (or error), and the replication round's count.
  void take(T v) { value = std::move(v), try_deliver(); }
  void take_error(caf::error e) { err = std::move(e), try_deliver(); }
  static std::function<void(int32_t)> on_replicas(std::shared_ptr<joined_reply> j) {
    return [j](int32_t n) { j->replicas = n, j->try_deliver(); };
  }
};

// Journals `batch`, then asks the group actor for the node's view (the node as now durable)
// and answers with it and the replica count.
void write_node(self_ptr self, caf::response_promise rp, std::vector<any_record> batch,
                std::string group, std::string node_id, bool created) {
  auto j = std::make_shared<joined_reply<register_result>>();
  j->rp = std::move(rp);
  write(
      self, std::move(batch),
      [=](const caf::error& err) {
        if (err) return j->fail(err);
        auto& s = store_of(self).state();
        auto* g = s.group(group);
        auto* n = s.node(node_id);
        // Deleted by a later write or a peer's before this one's turn: say so.
        if (!g) return j->fail(no_group(group));
        if (!n) return j->fail(no_node(group, node_id));
        auto actor = ensure_group_actor(self, g->spec);
        self->request(actor, timeouts::group_reply, node_put_atom::value, n->spec, created)
            .then([j](register_result& r) { j->take(std::move(r)); },
                  [j](caf::error& e) { j->take_error(std::move(e)); });
      },
      joined_reply<register_result>::on_replicas(j));
}

// A live node of a live group (staged writes included), or which one is missing.
caf::error find_node(self_ptr self, const std::string& group, const std::string& id,
                     const node_record*& out) {
  auto& s = store_of(self);
  if (!s.group(group)) return no_group(group);
  out = s.node(id);
  if (!out || out->spec.group != group) return no_node(group, id);
  return {};
}

controller_info info_of(self_ptr self) {
  auto& s = store_of(self).state();
  return controller_info{store_of(self).controller_id(), self->state.draining,
                         static_cast<int32_t>(s.live_group_count()),
                         static_cast<int32_t>(s.live_node_count()), store_of(self).journal_bytes()};
}

// Reads go to the group actor that holds the live view; it exists once the group is durable.
void delegate_read(self_ptr self, caf::response_promise& rp, const std::string& group,
                   caf::message msg) {
  auto i = self->state.groups.find(group);
  if (i == self->state.groups.end()) return rp.deliver(no_group(group)), void();
  rp.delegate(i->second, std::move(msg));
}

caf::message_handler crud_handlers(self_ptr self) {
  return {
      [=](grp_list_atom) {
        std::vector<group_summary> out;
        for (auto* g : store_of(self).state().live_groups()) {
          auto i = self->state.counts.find(g->spec.name);
          out.push_back(
              group_summary{g->spec, i == self->state.counts.end() ? status_counts{} : i->second});
        }
        return out;
      },
      [=](grp_get_atom, const std::string& name) {
        auto rp = self->make_response_promise();
        delegate_read(self, rp, name, caf::make_message(grp_get_atom::value));
      },
      [=](grp_put_atom, const std::string& name, const group_spec& fields, uint32_t set) {
        auto rp = self->make_response_promise();
        auto* existing = store_of(self).group(name);
        bool created = existing == nullptr;
        group_spec next = created ? group_spec{} : existing->spec;
        json::apply_group_fields(next, fields, set);
        next.name = name;
        if (auto msg = check(next); !msg.empty())
          return rp.deliver(make_error(sg_errc::invalid_argument, msg)), void();
        auto j = std::make_shared<joined_reply<group_put_reply>>();
        j->rp = rp;
        write(
            self, {group_record{next, {}, false}},
            [=](const caf::error& err) {
              if (err) return j->fail(err);
              auto* g = store_of(self).state().group(name);
              if (!g) return j->fail(no_group(name));
              bool spawned = false;
              auto actor = ensure_group_actor(self, g->spec, &spawned);
              if (!spawned) self->send(actor, spec_atom::value, g->spec);
              self->request(actor, timeouts::ask, grp_get_atom::value)
                  .then([j, created](group_view& v) { j->take({std::move(v), created, 1}); },
                        [j](caf::error& e) { j->take_error(std::move(e)); });
            },
            joined_reply<group_put_reply>::on_replicas(j));
      },
      [=](grp_del_atom, const std::string& name, bool force) {
        auto rp = self->make_response_promise();
        auto& s = store_of(self);
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
        write(
            self, std::move(batch),
            [=](const caf::error& err) mutable {
              if (err) return rp.deliver(err), void();
              if (!store_of(self).state().group(name)) stop_group_actor(self, name);
            },
            [rp](int32_t n) mutable { rp.deliver(n); });
      },
      [=](node_put_atom, const std::string& group, node_spec& reg, uint32_t set) {
        auto rp = self->make_response_promise();
        if (!(set & json::nf_name) || !(set & json::nf_base_url))
          return rp.deliver(make_error(sg_errc::invalid_argument,
                                       "fields 'name' and 'baseUrl' are required")),
                 void();
        auto& s = store_of(self);
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
          auto* known = s.any_group(group);
          batch.push_back(group_record{fresh, stamp{known ? known->st.hlc + 1 : 1, {}}, false});
        }
        // Always written, even when equal to the local copy: that copy may be stale, and a
        // write acknowledged later in real time must win wherever an older value sits.
        auto id = next.node_id;
        batch.push_back(node_record{std::move(next), {}, false});
        write_node(self, rp, std::move(batch), group, id, existing == nullptr);
      },
      [=](node_list_atom, const std::string& group) {
        auto rp = self->make_response_promise();
        delegate_read(self, rp, group, caf::make_message(node_list_atom::value));
      },
      [=](node_get_atom, const std::string& group, const std::string& id) {
        auto rp = self->make_response_promise();
        auto& s = store_of(self).state();
        auto* n = s.node(id);
        if (!s.group(group)) return rp.deliver(no_group(group)), void();
        if (!n || n->spec.group != group) return rp.deliver(no_node(group, id)), void();
        delegate_read(self, rp, group, caf::make_message(node_get_atom::value, id));
      },
      [=](node_patch_atom, const std::string& group, const std::string& id, const node_spec& fields,
          uint32_t set) {
        auto rp = self->make_response_promise();
        const node_record* n = nullptr;
        if (auto err = find_node(self, group, id, n)) return rp.deliver(err), void();
        auto next = n->spec;
        json::apply_node_fields(next, fields, set & json::nf_patch);
        write_node(self, rp, {node_record{std::move(next), {}, false}}, group, id, false);
      },
      [=](node_admin_atom, const std::string& group, const std::string& id, admin_state a) {
        auto rp = self->make_response_promise();
        const node_record* n = nullptr;
        if (auto err = find_node(self, group, id, n)) return rp.deliver(err), void();
        auto next = n->spec;
        next.admin = a;
        write_node(self, rp, {node_record{std::move(next), {}, false}}, group, id, false);
      },
      [=](node_del_atom, const std::string& group, const std::string& id) {
        auto rp = self->make_response_promise();
        const node_record* n = nullptr;
        if (auto err = find_node(self, group, id, n)) return rp.deliver(err), void();
        write(
            self, {node_record{n->spec, {}, true}},
            [=](const caf::error& err) mutable {
              if (err) return rp.deliver(err), void();
              if (auto i = self->state.groups.find(group); i != self->state.groups.end())
                self->send(i->second, node_del_atom::value, id);
            },
            [rp](int32_t r) mutable { rp.deliver(r); });
      },
      [=](reap_atom, const node_spec& seen, int64_t unhealthy_ms, const std::string& why) {
        // A group's deregisterAfterMs ran out for this node. Removed only if the registration is
        // still the one the checks judged: a node re-registered (or changed) meanwhile stays.
        auto* n = store_of(self).node(seen.node_id);
        if (!n || !(n->spec == seen)) return;
        auto ms = std::to_string(unhealthy_ms);
        write(
            self, {node_record{n->spec, {}, true}},
            [=](const caf::error& err) {
              if (err) {
                log::warn("automatic deregistration failed",
                          {{"node", seen.node_id}, {"error", caf::to_string(err)}});
                return;
              }
              auto& st = self->state;
              if (auto i = st.groups.find(seen.group); i != st.groups.end())
                self->send(i->second, node_del_atom::value, seen.node_id);
              log::info("node deregistered",
                        {{"group", seen.group}, {"node", seen.node_id}, {"unhealthyMs", ms}});
              if (!st.args.events) return;
              event e;
              e.type = "node.deregistered";
              e.group = seen.group;
              e.node_id = seen.node_id;
              e.node_name = seen.name;
              e.from = "unhealthy";
              e.detail = "unhealthy for " + ms + " ms (deregisterAfterMs)" +
                         (why.empty() ? "" : ": " + why);
              e.at_ms = static_cast<int64_t>(hlc_clock::wall_ms());
              self->send(st.args.events, event_atom::value, std::move(e));
            },
            [](int32_t) {});
      },
      [=](counts_atom, const std::string& group, status_counts counts) {
        if (self->state.groups.count(group)) self->state.counts[group] = counts;
      },
      [=](ctl_info_atom) { return info_of(self); },
      [=](ctl_drain_atom, bool drain) {
        if (self->state.draining != drain)
          log::info(drain ? "controller draining" : "controller active",
                    {{"controller", store_of(self).controller_id()}});
        self->state.draining = drain;
        return info_of(self);
      },
  };
}

}  // namespace

caf::behavior registry_actor(caf::stateful_actor<registry_actor_state>* self,
                             registry_actor_args args) {
  self->state.args = std::move(args);
  self->set_default_handler(caf::drop);
  self->state.journal =
      self->spawn<caf::detached + caf::linked>(journal_writer, self->state.args.store);
  // Group actors do not die with us by themselves (CAF 0.17): take them down on exit.
  self->set_exit_handler([=](caf::exit_msg& em) {
    for (auto& [name, g] : self->state.groups) self->send_exit(g, em.reason);
    self->state.groups.clear();
    self->send_exit(self->state.journal, em.reason);
    self->quit(em.reason);
  });
  // Bring every live group and node up from the replayed journal.
  for (auto* g : store_of(self).state().live_groups()) ensure_group_actor(self, g->spec);
  for (auto& addr : self->state.args.peers) self->state.peers[addr];  // listed before they connect
  if (!self->state.args.cluster_address.empty()) start_cluster(self);
  return crud_handlers(self).or_else(cluster_handlers(self));
}

void add_cluster_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<stamp>("sg::stamp");
  cfg.add_message_type<group_record>("sg::group_record");
  cfg.add_message_type<node_record>("sg::node_record");
  cfg.add_message_type<controller_info>("sg::controller_info");
  cfg.add_message_type<group_put_reply>("sg::group_put_reply");
  cfg.add_message_type<freshness>("sg::freshness");
  cfg.add_message_type<digest_msg>("sg::digest_msg");
  cfg.add_message_type<repair_msg>("sg::repair_msg");
  cfg.add_message_type<peer_info>("sg::peer_info");
  cfg.add_message_type<cluster_info>("sg::cluster_info");
}

}  // namespace sg
