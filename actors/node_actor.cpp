#include "actors/node_actor.hpp"

#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace sg {

namespace {

using std::chrono::milliseconds;

int64_t unix_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void report(caf::stateful_actor<node_state>* self) {
  auto& st = self->state;
  st.health.status = st.machine->status();
  st.health.consecutive_failures = st.machine->consecutive_failures();
  self->send(st.args->group, health_atom::value, st.args->spec.node_id, st.health);
}

// Next check after interval +- 10 % jitter, so thousands of nodes do not probe in lockstep.
void schedule_probe(caf::stateful_actor<node_state>* self) {
  auto& st = self->state;
  auto interval = st.args->health.interval_ms;
  std::uniform_int_distribution<int> jitter(-interval / 10, interval / 10);
  self->delayed_send(self, milliseconds(interval + jitter(st.rng)), probe_atom::value);
}

void start_probe(caf::stateful_actor<node_state>* self) {
  auto& st = self->state;
  if (!st.args->probes || st.probe_pending) return;
  st.probe_pending = true;
  auto seq = ++st.probe_seq;
  auto me = caf::actor_cast<caf::actor>(self);
  st.args->probes->probe(st.args->spec.health_url, milliseconds(st.args->health.timeout_ms),
                         [me, seq](probe_result r) {
                           caf::anon_send(me, probed_atom::value, seq, std::move(r));
                         });
}

}  // namespace

caf::behavior node_actor(caf::stateful_actor<node_state>* self, node_actor_args args) {
  auto& st = self->state;
  bool healthy_now = args.start_healthy || !args.probes;
  st.machine.emplace(args.health, healthy_now);
  st.machine->set_admin(args.spec.admin);
  st.rng.seed(static_cast<unsigned>(std::hash<std::string>{}(args.spec.node_id)));
  st.args = std::move(args);
  // A message nobody handles must never take a node down.
  self->set_default_handler(caf::drop);
  // With checks, the first report is the first check's result: a registration is answered with
  // what the node really said. Without checks the node counts as healthy at once.
  if (st.args->probes)
    start_probe(self);
  else
    report(self);
  return {
    [=](spec_atom, node_spec& spec, health_settings health) {
      auto& s = self->state;
      bool url_changed = spec.health_url != s.args->spec.health_url;
      s.args->spec = std::move(spec);
      s.args->health = health;
      s.machine->set_settings(health);
      s.machine->set_admin(s.args->spec.admin);
      report(self);
      if (url_changed) start_probe(self);
    },
    [=](probe_atom) { start_probe(self); },
    [=](probed_atom, uint64_t seq, probe_result& r) {
      auto& s = self->state;
      if (seq != s.probe_seq) return;  // a stale answer from before a restart of the timer
      s.probe_pending = false;
      s.machine->observe(r.outcome);
      s.health.last_check = check_record{unix_ms(), r.latency_ms, r.http_status, std::move(r.error)};
      report(self);
      schedule_probe(self);
    },
    [=](passive_atom, probe_outcome outcome) {
      if (self->state.machine->observe(outcome)) report(self);
    },
    [=](health_atom) { return self->state.health; },
  };
}

}  // namespace sg
