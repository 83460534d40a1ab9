#include "actors/group_actor.hpp"

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "actors/node_actor.hpp"
#include "actors/strategies.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <set>
#include <chrono>

namespace sg {

namespace {

using self_ptr = caf::stateful_actor<group_state>*;

node_view view_of(const group_child& c) {
  // The runtime has the latest check; c.health only changes with the status (routing).
  return node_view{c.spec, c.reported ? c.runtime->health() : c.health,
                   c.runtime->in_flight.load(std::memory_order_relaxed),
                   c.runtime->requests.load(std::memory_order_relaxed)};
}

bool routable(const group_child& c) {
  return c.reported && c.spec.admin == admin_state::active &&
         (c.health.status == node_status::healthy || c.health.status == node_status::degraded);
}

// Marks a child for the next publish (its spec, status or actor changed).
void mark(group_state& st, group_child& c) {
  if (c.dirty) return;
  c.dirty = true;
  st.dirty.push_back(c.spec.node_id);
}

// Puts `entry` at c.*at in `list` (want) or takes it out (!want); a removal moves the list's last
// entry into the hole, whose child then learns its new place.
void place(group_state& st, chunked_list<routed_ptr>& list, size_t group_child::*at, group_child& c,
           const routed_ptr& entry, bool want) {
  auto& pos = c.*at;
  if (want && pos == group_child::npos) {
    pos = list.size();
    list.push_back(entry);
  } else if (want) {
    if (list[pos] != entry) list.set(pos, entry);
  } else if (pos != group_child::npos) {
    auto moved = list.remove_swap_last(pos);
    if (moved)
      if (auto m = st.children.find(moved->spec.node_id); m != st.children.end())
        m->second.*at = pos;
    pos = group_child::npos;
  }
}

// Brings the child's entry, list places and counted status up to date. The entry is rebuilt only
// when its spec, status or actor changed; every other node's entry stays shared.
void sync(group_state& st, group_child& c, bool gone = false) {
  c.dirty = false;
  if (c.counted) st.counts.add(c.counted_status, -1);
  c.counted = !gone && c.reported;
  c.counted_status = c.health.status;
  if (c.counted) st.counts.add(c.counted_status);
  // A base URL that does not parse was refused at registration; a journal from elsewhere may
  // still hold one: such a node is counted but never routed.
  auto listed = !gone && c.base;
  if (listed) {
    auto status = c.reported ? c.health.status : node_status::unhealthy;
    if (!c.routed || c.routed->status != status || c.routed->actor != c.actor)
      c.routed = std::make_shared<const routed_node>(
          routed_node{c.spec, *c.base, status, c.runtime, c.actor});
  }
  place(st, st.members, &group_child::member_at, c, c.routed, listed);
  place(st, st.routable, &group_child::routable_at, c, c.routed, listed && routable(c));
}

void publish(self_ptr self) {
  auto& st = self->state;
  auto started = std::chrono::steady_clock::now();
  for (auto& id : st.dirty)
    if (auto i = st.children.find(id); i != st.children.end() && i->second.dirty)
      sync(st, i->second);
  st.dirty.clear();
  auto snap = std::make_shared<group_snapshot>();
  snap->spec = st.args.spec;
  snap->owner = st.owner;
  snap->version = ++st.version;
  snap->counter = st.counter;
  snap->stats = st.stats;
  snap->members = st.members;
  snap->nodes = st.routable;
  auto& counts = st.counts;
  if (snap->spec.strategy == strategy_kind::weighted_round_robin) {
    std::vector<int32_t> weights;
    for (auto& n : snap->nodes) weights.push_back(n->spec.weight);
    snap->wrr_schedule = smooth_wrr_schedule(weights);
  }
  st.args.table->publish(std::move(snap));
  st.last_publish = std::chrono::steady_clock::now();
  st.publish_cost = st.last_publish - started;
  auto changed = counts.healthy != st.last_counts.healthy ||
                 counts.degraded != st.last_counts.degraded ||
                 counts.unhealthy != st.last_counts.unhealthy ||
                 counts.draining != st.last_counts.draining || st.version == 1;
  st.last_counts = counts;
  if (changed && st.args.observer)
    self->send(st.args.observer, counts_atom::value, st.args.spec.name, counts);
}

// Marks the snapshot stale; the rebuild happens once the messages queued now are handled, so a
// burst of 10,000 first health reports costs a few rebuilds, not 10,000. A publish costs the
// changed nodes plus nodes/128 pointer copies, and for weighted round robin the schedule (up to
// the sum of the weights): publishes are spaced at least 4x their own cost apart (at most 20 ms),
// so a costly one takes at most a fifth of the actor's time; an ordinary publish takes
// microseconds and sees no delay.
void schedule_publish(self_ptr self) {
  auto& st = self->state;
  if (st.publish_pending) return;
  st.publish_pending = true;
  auto gap = std::min<std::chrono::steady_clock::duration>(4 * st.publish_cost,
                                                           std::chrono::milliseconds(20));
  auto due = st.last_publish + gap;
  auto now = std::chrono::steady_clock::now();
  if (due <= now)
    self->send(self, publish_atom::value);
  else
    self->delayed_send(self, due - now, publish_atom::value);
}

// Publishes now and delivers the answers that waited for it.
void flush_publish(self_ptr self) {
  auto& st = self->state;
  st.publish_pending = false;
  publish(self);
  auto ready = std::move(st.after_publish);
  st.after_publish.clear();
  for (auto& [rp, r] : ready) rp.deliver(std::move(r));
}

// Answers now, or after the pending publish if one is due (the caller must find what it was
// told in the routing snapshot).
void answer(self_ptr self, caf::response_promise& rp, register_result r) {
  if (self->state.publish_pending)
    self->state.after_publish.emplace_back(std::move(rp), std::move(r));
  else
    rp.deliver(std::move(r));
}

void spawn_child(self_ptr self, group_child& c, bool start_healthy) {
  node_actor_args a{c.spec,
                    self->state.args.spec.health,
                    c.runtime,
                    self->state.args.probes,
                    caf::actor_cast<caf::actor>(self),
                    self->state.args.events,
                    self->state.stats,
                    start_healthy};
  c.actor = self->spawn<caf::monitored>(node_actor, std::move(a));
  self->state.by_addr[c.actor.address()] = c.spec.node_id;
  mark(self->state, c);  // passive failures go to the new incarnation
}

void stop_child(self_ptr self, group_child& c) {
  if (!c.actor) return;
  self->state.by_addr.erase(c.actor.address());
  self->send_exit(c.actor, caf::exit_reason::user_shutdown);
  c.actor = caf::actor{};
}

// Adds or updates a child; a new one gets a fresh runtime and a node actor. `changed` says
// whether anything was new (an unchanged spec is not sent to the node actor again).
group_child& upsert(self_ptr self, node_spec spec, bool created, bool& changed) {
  auto& st = self->state;
  auto [it, inserted] = st.children.try_emplace(spec.node_id);
  auto& c = it->second;
  changed = inserted || !(c.spec == spec);
  if (!changed) return c;
  c.spec = std::move(spec);
  c.base = parse_url(c.spec.base_url);
  c.routed.reset();
  mark(st, c);
  if (inserted) {
    c.runtime = std::make_shared<node_runtime>();
    c.created = created;
    spawn_child(self, c, false);
    return c;
  }
  if (c.actor) self->send(c.actor, spec_atom::value, c.spec, st.args.spec.health);
  schedule_publish(self);
  return c;
}

void remove_child(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto i = st.children.find(id);
  if (i == st.children.end()) return;
  for (auto& rp : i->second.waiting)
    rp.deliver(make_error(sg_errc::node_not_found, "node " + id + " was removed"));
  stop_child(self, i->second);
  sync(st, i->second, true);
  st.children.erase(i);
}

}  // namespace

caf::behavior group_actor(caf::stateful_actor<group_state>* self, group_actor_args args) {
  self->state.args = std::move(args);
  self->state.owner = routing_table::next_owner();
  self->set_default_handler(caf::drop);
  publish(self);

  // A node actor that dies of anything but our own shutdown is restarted with backoff
  // (50 ms doubling to 5 s); its runtime counters and last health carry over.
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.by_addr.find(dm.source);
    if (i == st.by_addr.end()) return;
    auto id = i->second;
    st.by_addr.erase(i);
    auto c = st.children.find(id);
    if (c == st.children.end()) return;
    c->second.actor = caf::actor{};
    // A node that ran for a minute since its last restart starts its backoff afresh.
    auto now = std::chrono::steady_clock::now();
    if (now - c->second.last_restart > std::chrono::minutes(1)) c->second.restarts = 0;
    c->second.last_restart = now;
    auto n = std::min(c->second.restarts++, 7);
    self->delayed_send(self, std::chrono::milliseconds(std::min(50 << n, 5000)),
                       restart_atom::value, id);
  });
  // Children do not die with their parent in CAF: take them down explicitly.
  self->set_exit_handler([=](caf::exit_msg& em) {
    auto& st = self->state;
    for (auto& [id, c] : st.children) {
      for (auto& rp : c.waiting)
        rp.deliver(make_error(sg_errc::unavailable, "group " + st.args.spec.name + " was removed"));
      c.waiting.clear();
      stop_child(self, c);
    }
    for (auto& [rp, r] : st.after_publish)
      rp.deliver(make_error(sg_errc::unavailable, "group " + st.args.spec.name + " was removed"));
    st.after_publish.clear();
    st.args.table->remove(st.args.spec.name, st.owner);
    self->quit(em.reason);
  });

  return {
      [=](spec_atom, group_spec& spec) {
        auto& st = self->state;
        bool health_changed = !(spec.health == st.args.spec.health);
        st.args.spec = std::move(spec);
        if (health_changed)
          for (auto& [id, c] : st.children)
            if (c.actor) self->send(c.actor, spec_atom::value, c.spec, st.args.spec.health);
        // Settings (strategy, sticky headers, limits) apply to the next request: the PUT that
        // changed them is answered after this, so publish now, not after the queue.
        flush_publish(self);
      },
      [=](spec_atom, node_spec& spec) {
        bool changed = false;
        upsert(self, std::move(spec), false, changed);
      },
      // The registry's full list of this group's nodes (after a merge from a peer): add, update,
      // and remove whatever is no longer listed.
      [=](spec_atom, std::vector<node_spec>& all) {
        std::set<std::string> keep;
        for (auto& n : all) {
          keep.insert(n.node_id);
          bool changed = false;
          upsert(self, std::move(n), false, changed);
        }
        std::vector<std::string> gone;
        for (auto& [id, c] : self->state.children)
          if (!keep.count(id)) gone.push_back(id);
        for (auto& id : gone) remove_child(self, id);
        if (!gone.empty()) schedule_publish(self);
      },
      [=](node_put_atom, node_spec& spec, bool created) -> caf::result<register_result> {
        bool changed = false;
        auto& c = upsert(self, std::move(spec), created, changed);
        // Restarting, or nothing new for a node already checked: answer with what is known.
        if (!c.actor || (!changed && c.reported)) {
          auto rp = self->make_response_promise<register_result>();
          answer(self, rp, register_result{view_of(c), created});
          return rp;
        }
        // The answer waits for the node actor's next report: for a new node that is its first
        // check (so a registration says whether the node is routable), for an update the report
        // that reflects the new spec.
        c.created = created;
        auto rp = self->make_response_promise<register_result>();
        c.waiting.push_back(rp);
        return rp;
      },
      [=](node_del_atom, const std::string& id) {
        remove_child(self, id);
        flush_publish(self);  // a deleted node leaves routing at once, not after the queue
      },
      [=](health_atom, const std::string& id, node_health& h) {
        auto& st = self->state;
        auto i = st.children.find(id);
        if (i == st.children.end()) return;
        auto& c = i->second;
        // A report from a stale incarnation (already replaced) is ignored.
        if (!c.actor || self->current_sender() != c.actor.address()) return;
        // Only a change of status (or a first report) changes routing: most checks confirm what
        // is known, and rebuilding the snapshot for each would cost O(nodes) per check.
        bool routing_changed = !c.reported || c.health.status != h.status;
        c.health = std::move(h);
        c.reported = true;
        if (routing_changed) mark(st, c);
        // Publish before answering: a caller that proxies right after its registration must find
        // the node in the snapshot.
        if (routing_changed) schedule_publish(self);
        for (auto& rp : c.waiting) answer(self, rp, register_result{view_of(c), c.created});
        c.waiting.clear();
      },
      [=](reap_atom, node_spec& spec, int64_t unhealthy_ms, std::string& why) {
        // deregisterAfterMs ran out: the registry removes the node (a replicated delete) if its
        // registration is still this one.
        auto& st = self->state;
        auto i = st.children.find(spec.node_id);
        if (i == st.children.end() || !i->second.actor ||
            self->current_sender() != i->second.actor.address() || !(i->second.spec == spec))
          return;
        if (st.args.observer)
          self->send(st.args.observer, reap_atom::value, std::move(spec), unhealthy_ms,
                     std::move(why));
      },
      [=](publish_atom) {
        if (self->state.publish_pending) flush_publish(self);  // else: flushed meanwhile
      },
      [=](restart_atom, const std::string& id) {
        auto& st = self->state;
        auto i = st.children.find(id);
        if (i == st.children.end() || i->second.actor) return;
        auto& c = i->second;
        spawn_child(self, c, c.reported && c.health.status != node_status::unhealthy);
        schedule_publish(self);
      },
      [=](node_get_atom, const std::string& id) -> caf::result<node_view> {
        auto& st = self->state;
        auto i = st.children.find(id);
        if (i == st.children.end())
          return make_error(sg_errc::node_not_found,
                            "no node " + id + " in group " + st.args.spec.name);
        return view_of(i->second);
      },
      [=](node_list_atom) {
        std::vector<node_view> out;
        for (auto& [id, c] : self->state.children) out.push_back(view_of(c));
        return out;
      },
      [=](grp_get_atom) {
        group_view out{self->state.args.spec, {}};
        for (auto& [id, c] : self->state.children) out.nodes.push_back(view_of(c));
        return out;
      },
      [=](child_atom, const std::string& id) -> caf::result<caf::actor> {
        auto& st = self->state;
        auto i = st.children.find(id);
        if (i == st.children.end() || !i->second.actor)
          return make_error(sg_errc::node_not_found, "no running actor for node " + id);
        return i->second.actor;
      },
  };
}

}  // namespace sg
