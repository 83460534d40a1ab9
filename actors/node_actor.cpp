#include "actors/node_actor.hpp"

#include "actors/event.hpp"
#include "actors/url.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>

namespace sg {

namespace {

using std::chrono::milliseconds;

void emit(caf::stateful_actor<node_state>* self, event e) {
  auto& st = self->state;
  if (e.alert == "raised") st.args->runtime->alerts.fetch_add(1, std::memory_order_relaxed);
  if (!st.args->events) return;
  e.group = st.args->spec.group;
  e.node_id = st.args->spec.node_id;
  e.node_name = st.args->spec.name;
  e.consecutive_failures = st.machine->consecutive_failures();
  e.at_ms = st.args->clock->unix_ms();
  self->send(st.args->events, event_atom::value, std::move(e));
}

std::string detail_of(const check_record& c) {
  if (!c.error.empty()) return c.error;
  if (c.http_status) return "HTTP " + std::to_string(c.http_status);
  return {};
}

// Announces drained once per drain, when nothing is in flight any more.
void check_drained(caf::stateful_actor<node_state>* self) {
  auto& st = self->state;
  if (st.machine->status() != node_status::draining || st.drained_announced) return;
  if (st.args->runtime->in_flight.load() != 0) return;
  st.drained_announced = true;
  emit(self, event{"node.drained", {}, {}, {}, {}, "draining", {}, "no requests in flight"});
}

// Turns a status change into an event (alerts on the way down, resolved on recovery) and keeps
// the runtime's draining flag in step.
void on_change(caf::stateful_actor<node_state>* self, std::optional<status_change> ch,
               bool first_check = false) {
  auto& st = self->state;
  auto now = st.machine->status();
  st.args->runtime->draining.store(now == node_status::draining);
  if (now != node_status::draining) st.drained_announced = false;
  std::string alert, from;
  bool down = now == node_status::degraded || now == node_status::unhealthy;
  if (first_check) {
    // A new node's first result: announced either way, an alert only if it failed.
    alert = down ? "raised" : "";
  } else if (ch) {
    from = to_string(ch->from);
    // Raised on the way down (healthy -> degraded, anything -> unhealthy), resolved on recovery.
    if (down && (ch->from != node_status::degraded || now == node_status::unhealthy))
      alert = "raised";
    else if (now == node_status::healthy &&
             (ch->from == node_status::degraded || ch->from == node_status::unhealthy))
      alert = "resolved";
  } else {
    return;
  }
  emit(
      self,
      event{
          "node.status", {}, {}, {}, from, to_string(now), alert, detail_of(st.health.last_check)});
  check_drained(self);
}

// Publishes the latest health for admin views; the group actor (routing) hears of it only when
// the status changed, or with `always` (a first check, an answer someone waits for).
void report(caf::stateful_actor<node_state>* self, bool always = false) {
  auto& st = self->state;
  st.health.status = st.machine->status();
  st.health.consecutive_failures = st.machine->consecutive_failures();
  st.args->runtime->put_health(st.health);
  if (!always && st.sent_status == st.health.status) return;
  st.sent_status = st.health.status;
  self->send(st.args->group, health_atom::value, st.args->spec.node_id, st.health);
}

// What the checks go to and expect, built once per spec or settings change.
std::shared_ptr<const check_target> make_target(const node_spec& spec, const health_settings& h) {
  auto t = std::make_shared<check_target>();
  t->url = check_url(spec, h);
  t->parts = parse_url(t->url);
  t->settings = h;
  return t;
}

bool same_check(const check_target& a, const check_target& b) {
  auto& x = a.settings;
  auto& y = b.settings;
  return a.url == b.url && x.type == y.type && x.timeout_ms == y.timeout_ms &&
         x.expect_status == y.expect_status && x.expect_body == y.expect_body;
}

// Starts the prober's checks after `delay` (then every interval); the schedule before it is
// cancelled, and its results still on their way are ignored.
void start_probe(caf::stateful_actor<node_state>* self, milliseconds delay = milliseconds(0)) {
  auto& st = self->state;
  if (!st.args->probes) return;
  st.checks->store(true);
  st.checks = std::make_shared<std::atomic<bool>>(false);
  auto seq = ++st.probe_seq;
  auto me = caf::actor_cast<caf::actor>(self);
  st.args->probes->probe(
      probe_request{st.target, delay, static_cast<uint32_t>(st.rng()), st.checks},
      [me, seq](probe_result r) { caf::anon_send(me, probed_atom::value, seq, std::move(r)); });
}

// deregisterAfterMs: once the checks have said unhealthy for that long, the group is asked (once)
// to remove the node; the registry does so only if the registration is still the one seen here.
void track_unhealthy(caf::stateful_actor<node_state>* self) {
  auto& st = self->state;
  if (st.machine->health() != node_status::unhealthy) {
    st.unhealthy_since.reset();
    st.reap_asked = false;
    return;
  }
  auto now = st.args->clock->steady();
  if (!st.unhealthy_since) st.unhealthy_since = now;
  auto limit = st.args->health.deregister_after_ms;
  if (limit <= 0 || st.reap_asked) return;
  auto for_ms = std::chrono::duration_cast<milliseconds>(now - *st.unhealthy_since).count();
  if (for_ms < limit) return;
  st.reap_asked = true;
  self->send(st.args->group, reap_atom::value, st.args->spec, static_cast<int64_t>(for_ms),
             detail_of(st.health.last_check));
}

}  // namespace

caf::behavior node_actor(caf::stateful_actor<node_state>* self, node_actor_args args) {
  auto& st = self->state;
  bool healthy_now = args.start_healthy || !args.probes;
  st.machine.emplace(args.health, healthy_now);
  st.machine->set_admin(args.spec.admin);
  args.runtime->draining.store(st.machine->status() == node_status::draining);
  st.rng.seed(args.jitter_seed
                  ? args.jitter_seed
                  : static_cast<unsigned>(std::hash<std::string>{}(args.spec.node_id)));
  st.target = make_target(args.spec, args.health);
  st.args = std::move(args);
  // A message nobody handles must never take a node down.
  self->set_default_handler(caf::drop);
  // With checks, the first report is the first check's result: a registration is answered with
  // what the node really said. Without checks the node counts as healthy at once.
  if (st.args->probes)
    start_probe(self);
  else
    report(self, true);
  return {
      [=](spec_atom, node_spec& spec, health_settings health) {
        auto& s = self->state;
        // A new URL, check type, timeout or expectation is checked now; a new interval only
        // reschedules the check waiting on the old one.
        auto target = make_target(spec, health);
        bool target_changed = !same_check(*target, *s.target);
        bool interval_changed = health.interval_ms != s.args->health.interval_ms;
        s.target = std::move(target);
        s.args->spec = std::move(spec);
        s.args->health = std::move(health);
        s.machine->set_settings(s.args->health);
        auto ch = s.machine->set_admin(s.args->spec.admin);
        on_change(self, ch);
        report(self, true);  // the group answers an update once the node has taken it
        if (target_changed) {
          start_probe(self);  // check the new target now
        } else if (interval_changed) {
          // The next check on the new interval, counted from the start of the last one.
          auto since =
              std::chrono::duration_cast<milliseconds>(s.args->clock->steady() - s.last_started);
          start_probe(self, next_check_delay(s.args->health.interval_ms, s.rng, since));
        }
      },
      [=](probed_atom, uint64_t seq, probe_result& r) {
        auto& s = self->state;
        if (seq != s.probe_seq) return;  // a stale answer from before a restart of the timer
        bool first = s.health.last_check.at_ms == 0 && !s.args->start_healthy;
        auto ch = s.machine->observe(r.outcome);
        auto& rt = *s.args->runtime;
        (r.outcome == probe_outcome::pass    ? rt.checks_pass
         : r.outcome == probe_outcome::drain ? rt.checks_drain
                                             : rt.checks_fail)
            .fetch_add(1, std::memory_order_relaxed);
        if (s.args->group_stats)
          s.args->group_stats->check_duration.observe(static_cast<double>(r.latency_us) / 1e6);
        s.health.last_check = check_record{s.args->clock->unix_ms(), r.latency_ms, r.http_status,
                                           std::move(r.error), std::move(r.body)};
        on_change(self, ch, first);
        report(self, first);
        track_unhealthy(self);
        s.last_started = s.args->clock->steady() - std::chrono::microseconds(r.latency_us);
      },
      [=](passive_atom, probe_outcome outcome) {
        auto& s = self->state;
        auto ch = s.machine->observe(outcome);
        if (ch) s.health.last_check.error = "proxied connection failed";
        on_change(self, ch);
        report(self);
        track_unhealthy(self);
      },
      [=](drained_atom) { check_drained(self); },
      [=](health_atom) { return self->state.health; },
  };
}

}  // namespace sg
