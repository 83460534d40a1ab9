#include "cluster/registry_actor.hpp"

#include "actors/errors.hpp"
#include "actors/group_actor.hpp"
#include "actors/messages.hpp"
#include "actors/spec_json.hpp"
#include "metrics/log.hpp"

#include <caf/all.hpp>

namespace sg {

namespace {

using self_ptr = caf::stateful_actor<registry_actor_state>*;

const registry_state& state_of(self_ptr self) { return self->state.args.store->state(); }

caf::error no_group(const std::string& name) {
  return make_error(sg_errc::group_not_found, "no group named '" + name + "'");
}

caf::error no_node(const std::string& group, const std::string& id) {
  return make_error(sg_errc::node_not_found, "no node '" + id + "' in group '" + group + "'");
}

// Commits a batch; on failure logs it and returns the error for the requester.
caf::error commit(self_ptr self, std::vector<any_record> batch) {
  if (auto err = self->state.args.store->commit(std::move(batch)); !err.empty()) {
    log::error("registry write failed", {{"error", err}});
    return make_error(sg_errc::storage_failed, "write not stored: " + err);
  }
  return {};
}

caf::actor ensure_group_actor(self_ptr self, const group_spec& spec) {
  auto& st = self->state;
  auto i = st.groups.find(spec.name);
  if (i != st.groups.end()) return i->second;
  auto g = self->spawn(group_actor,
                       group_actor_args{spec, st.args.table, st.args.probes,
                                        caf::actor_cast<caf::actor>(self), st.args.events});
  st.groups.emplace(spec.name, g);
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

// Looks up a live node of a live group, or says which one is missing.
caf::error find_node(self_ptr self, const std::string& group, const std::string& id,
                     const node_record*& out) {
  auto& s = state_of(self);
  if (!s.group(group)) return no_group(group);
  out = s.node(id);
  if (!out || out->spec.group != group) return no_node(group, id);
  return {};
}

// Commits a changed node spec (if it changed) and lets the group actor answer with the view.
void write_node(self_ptr self, caf::response_promise& rp, const node_record& before,
                node_spec next) {
  if (!(next == before.spec)) {
    if (auto err = commit(self, {node_record{next, {}, false}})) {
      rp.deliver(err);
      return;
    }
  }
  auto g = self->state.groups.at(next.group);
  rp.delegate(g, node_put_atom::value, std::move(next), false);
}

controller_info info_of(self_ptr self) {
  auto& s = state_of(self);
  int32_t nodes = 0;
  for (auto& [id, n] : s.nodes()) nodes += n.deleted ? 0 : 1;
  return controller_info{self->state.args.store->controller_id(), self->state.draining,
                         static_cast<int32_t>(s.live_groups().size()), nodes,
                         self->state.args.store->journal_bytes()};
}

}  // namespace

caf::behavior registry_actor(caf::stateful_actor<registry_actor_state>* self,
                             registry_actor_args args) {
  self->state.args = std::move(args);
  // Group actors do not die with us by themselves (CAF 0.17): take them down on exit.
  self->set_exit_handler([=](caf::exit_msg& em) {
    for (auto& [name, g] : self->state.groups) self->send_exit(g, em.reason);
    self->state.groups.clear();
    self->quit(em.reason);
  });
  // Bring every live group and node up from the replayed journal.
  auto& s = state_of(self);
  for (auto* g : s.live_groups()) {
    auto actor = ensure_group_actor(self, g->spec);
    for (auto* n : s.nodes_of(g->spec.name)) self->send(actor, spec_atom::value, n->spec);
  }

  return {
    [=](grp_list_atom) {
      std::vector<group_summary> out;
      for (auto* g : state_of(self).live_groups()) {
        auto i = self->state.counts.find(g->spec.name);
        out.push_back(group_summary{g->spec, i == self->state.counts.end() ? status_counts{}
                                                                           : i->second});
      }
      return out;
    },
    [=](grp_get_atom, const std::string& name) {
      auto rp = self->make_response_promise();
      if (!state_of(self).group(name)) return rp.deliver(no_group(name));
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
        return rp.deliver(make_error(sg_errc::invalid_argument, msg));
      if (created || !(next == existing->spec)) {
        if (auto err = commit(self, {group_record{next, {}, false}})) return rp.deliver(err);
      }
      auto actor = ensure_group_actor(self, next);
      if (!created) self->send(actor, spec_atom::value, next);
      self->request(actor, std::chrono::seconds(10), grp_get_atom::value)
          .then([rp, created](group_view& v) mutable { rp.deliver(group_put_reply{v, created}); },
                [rp](caf::error& e) mutable { rp.deliver(e); });
    },
    [=](grp_del_atom, const std::string& name, bool force) -> caf::result<void> {
      auto& s = state_of(self);
      auto* g = s.group(name);
      if (!g) return no_group(name);
      auto nodes = s.nodes_of(name);
      if (!nodes.empty() && !force)
        return make_error(sg_errc::conflict, "group '" + name + "' still has " +
                                                 std::to_string(nodes.size()) +
                                                 " node(s); delete them first or use ?force=true");
      std::vector<any_record> batch;
      batch.push_back(group_record{g->spec, {}, true});
      for (auto* n : nodes) batch.push_back(node_record{n->spec, {}, true});
      if (auto err = commit(self, std::move(batch))) return err;
      stop_group_actor(self, name);
      return caf::unit;
    },
    [=](node_put_atom, const std::string& group, node_spec& reg, uint32_t set) {
      auto rp = self->make_response_promise();
      if (!(set & json::nf_name) || !(set & json::nf_base_url))
        return rp.deliver(make_error(sg_errc::invalid_argument,
                                     "fields 'name' and 'baseUrl' are required"));
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
      auto* g = s.group(group);
      if (!g) {
        group_spec fresh;  // the group is created with defaults on its first registration
        fresh.name = group;
        batch.push_back(group_record{fresh, {}, false});
      }
      if (!existing || !(existing->spec == next)) batch.push_back(node_record{next, {}, false});
      if (!batch.empty())
        if (auto err = commit(self, std::move(batch))) return rp.deliver(err);
      auto actor = ensure_group_actor(self, state_of(self).group(group)->spec);
      rp.delegate(actor, node_put_atom::value, std::move(next), existing == nullptr);
    },
    [=](node_list_atom, const std::string& group) {
      auto rp = self->make_response_promise();
      if (!state_of(self).group(group)) return rp.deliver(no_group(group));
      rp.delegate(self->state.groups.at(group), node_list_atom::value);
    },
    [=](node_get_atom, const std::string& group, const std::string& id) {
      auto rp = self->make_response_promise();
      const node_record* n = nullptr;
      if (auto err = find_node(self, group, id, n)) return rp.deliver(err);
      rp.delegate(self->state.groups.at(group), node_get_atom::value, id);
    },
    [=](node_patch_atom, const std::string& group, const std::string& id, const node_spec& fields,
        uint32_t set) {
      auto rp = self->make_response_promise();
      const node_record* n = nullptr;
      if (auto err = find_node(self, group, id, n)) return rp.deliver(err);
      auto next = n->spec;
      json::apply_node_fields(next, fields, set & json::nf_patch);
      write_node(self, rp, *n, std::move(next));
    },
    [=](node_admin_atom, const std::string& group, const std::string& id, admin_state a) {
      auto rp = self->make_response_promise();
      const node_record* n = nullptr;
      if (auto err = find_node(self, group, id, n)) return rp.deliver(err);
      auto next = n->spec;
      next.admin = a;
      write_node(self, rp, *n, std::move(next));
    },
    [=](node_del_atom, const std::string& group, const std::string& id) -> caf::result<void> {
      const node_record* n = nullptr;
      if (auto err = find_node(self, group, id, n)) return err;
      if (auto err = commit(self, {node_record{n->spec, {}, true}})) return err;
      self->send(self->state.groups.at(group), node_del_atom::value, id);
      return caf::unit;
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
  };
}

void add_cluster_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<stamp>("sg::stamp");
  cfg.add_message_type<group_record>("sg::group_record");
  cfg.add_message_type<node_record>("sg::node_record");
  cfg.add_message_type<controller_info>("sg::controller_info");
  cfg.add_message_type<group_put_reply>("sg::group_put_reply");
}

}  // namespace sg
