// The node actor in virtual time: CAF's test_coordinator runs every message, a scripted prober
// records the schedules of checks the actor starts (and delivers their results when the test says
// so), and the actor's clock is the test's. Nothing sleeps and nothing depends on the machine's
// speed.
#include "actors/node_actor.hpp"

#include "actors/messages.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace sg;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

struct vt_config : caf::actor_system_config {
  vt_config() {
    add_actor_types(*this);
    set("scheduler.policy", caf::atom("testing"));
  }
};

// The schedules of checks the actor asked for; results are delivered when the test says so.
struct scripted_prober : prober {
  struct schedule {
    probe_request req;
    std::function<void(probe_result)> done;
    bool cancelled() const { return req.cancelled->load(); }
  };
  std::vector<schedule> asked;
  void probe(probe_request req, std::function<void(probe_result)> done) override {
    asked.push_back({std::move(req), std::move(done)});
  }
  // The schedule that is still running (the actor cancels the ones it replaces).
  schedule* running() {
    for (auto i = asked.rbegin(); i != asked.rend(); ++i)
      if (!i->cancelled()) return &*i;
    return nullptr;
  }
};

// What the node actor told its group.
struct group_log {
  std::vector<node_health> reports;
  std::vector<std::pair<node_spec, int64_t>> reaps;
};

caf::behavior recording_group(caf::event_based_actor*, std::shared_ptr<group_log> log) {
  return {
      [=](health_atom, const std::string&, const node_health& h) { log->reports.push_back(h); },
      [=](reap_atom, const node_spec& spec, int64_t ms, const std::string&) {
        log->reaps.emplace_back(spec, ms);
      },
  };
}

probe_result answer(probe_outcome o, int status = 200, std::string error = {}) {
  probe_result r;
  r.outcome = o;
  r.http_status = status;
  r.error = std::move(error);
  r.body = status ? "ok" : "";
  return r;
}

struct fixture {
  vt_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<scripted_prober> probes = std::make_shared<scripted_prober>();
  std::shared_ptr<group_log> log = std::make_shared<group_log>();
  std::shared_ptr<node_runtime> runtime = std::make_shared<node_runtime>();
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  int64_t unix_now = 1'700'000'000'000;
  caf::actor group = sys.spawn(recording_group, log);
  caf::actor node;
  node_spec spec;
  health_settings health;

  fixture() {
    spec.group = "g";
    spec.name = "n1";
    spec.node_id = make_node_id("g", "n1");
    spec.base_url = "http://127.0.0.1:9000/api/";
    spec.health_url = "http://127.0.0.1:9000/health";
    health.interval_ms = 1000;
    health.timeout_ms = 200;
  }
  ~fixture() {
    if (node) caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(group, caf::exit_reason::user_shutdown);
    sched.run();
  }

  clock_ptr clock() {
    auto c = std::make_shared<actor_clock>();
    c->steady = [this] { return now; };
    c->unix_ms = [this] { return unix_now; };
    return c;
  }

  void start() {
    node_actor_args a{spec, health, runtime, probes, group, caf::actor{}, nullptr, false};
    a.clock = clock();
    a.jitter_seed = 42;
    node = sys.spawn(node_actor, std::move(a));
    sched.run();
  }

  // Lets `d` pass on the test's clock.
  void pass(milliseconds d) {
    now += d;
    unix_now += d.count();
  }

  // The running schedule's next result, `after` from the previous one (its interval), then
  // runs what that caused.
  void complete(probe_result r, milliseconds after = 1000ms) {
    auto* s = probes->running();
    REQUIRE(s);
    pass(after);
    s->done(std::move(r));
    sched.run();
  }

  node_health health_now() const { return runtime->health(); }
};

}  // namespace

TEST_CASE_METHOD(fixture, "node actor: the first check runs at once and its answer is reported",
                 "[node_actor]") {
  start();
  REQUIRE(probes->asked.size() == 1);
  CHECK(probes->asked.front().req.delay == 0ms);
  CHECK(probes->asked.front().req.target->url == "http://127.0.0.1:9000/health");
  CHECK(log->reports.empty());  // nothing is said before the node has answered
  complete(answer(probe_outcome::pass), 7ms);
  CHECK(probes->asked.size() == 1);  // one schedule: the prober repeats the checks itself
  REQUIRE(log->reports.size() == 1);
  CHECK(log->reports[0].status == node_status::healthy);
  auto h = health_now();
  CHECK(h.last_check.at_ms == unix_now);
  CHECK(h.last_check.http_status == 200);
  CHECK(h.last_check.body == "ok");
}

TEST_CASE_METHOD(fixture, "node actor: a group path replaces the healthUrl on the baseUrl",
                 "[node_actor]") {
  health.path = "/ready?deep=1";
  start();
  REQUIRE(probes->asked.size() == 1);
  CHECK(probes->asked.front().req.target->url == "http://127.0.0.1:9000/api/ready?deep=1");
  REQUIRE(probes->asked.front().req.target->parts);
  CHECK(probes->asked.front().req.target->parts->path == "/api/ready?deep=1");
}

TEST_CASE("next_check_delay: the interval +- 10 % from the start of the last check",
          "[node_actor]") {
  std::minstd_rand rng(42);
  bool varied = false;
  auto first = next_check_delay(1000, rng, 0ms);
  for (int i = 0; i < 200; ++i) {
    auto d = next_check_delay(1000, rng, 0ms);
    CHECK(d >= 900ms);
    CHECK(d <= 1100ms);
    varied = varied || d != first;
    // A check that took 30 ms shortens the wait by as much: the interval does not stretch.
    auto e = next_check_delay(1000, rng, 30ms);
    CHECK(e >= 870ms);
    CHECK(e <= 1070ms);
  }
  CHECK(varied);
  CHECK(next_check_delay(1000, rng, 5000ms) == 0ms);  // overdue: at once, never negative
  CHECK(next_check_delay(100, rng, 0ms) >= 90ms);
}

TEST_CASE_METHOD(fixture, "node actor: failures degrade, then take the node out, passes return it",
                 "[node_actor]") {
  start();
  complete(answer(probe_outcome::pass));
  complete(answer(probe_outcome::fail, 503, "HTTP 503, expected 200-299"));
  REQUIRE(log->reports.size() == 2);
  CHECK(log->reports[1].status == node_status::degraded);
  CHECK(log->reports[1].consecutive_failures == 1);
  complete(answer(probe_outcome::fail, 503));
  CHECK(log->reports.size() == 2);  // still degraded: nothing new to say
  CHECK(health_now().consecutive_failures == 2);
  complete(answer(probe_outcome::fail, 0, "connect timed out"));
  REQUIRE(log->reports.size() == 3);
  CHECK(log->reports[2].status == node_status::unhealthy);
  CHECK(log->reports[2].last_check.error == "connect timed out");
  complete(answer(probe_outcome::pass));
  REQUIRE(log->reports.size() == 4);
  CHECK(log->reports[3].status == node_status::healthy);
  CHECK(runtime->checks_fail.load() == 3);
  CHECK(runtime->checks_pass.load() == 2);
}

TEST_CASE_METHOD(fixture, "node actor: deregisterAfterMs asks the group once, measured in time",
                 "[node_actor]") {
  health.deregister_after_ms = 5000;
  start();
  complete(answer(probe_outcome::pass));
  // Unhealthy after the third failure; from then on the time counts, not the number of checks.
  for (int i = 0; i < 3; ++i) complete(answer(probe_outcome::fail, 500));
  REQUIRE(health_now().status == node_status::unhealthy);
  auto since = now;
  while (now - since < 5000ms) {
    CHECK(log->reaps.empty());
    complete(answer(probe_outcome::fail, 500));
  }
  REQUIRE(log->reaps.size() == 1);
  CHECK(log->reaps[0].first == spec);
  CHECK(log->reaps[0].second >= 5000);
  CHECK(log->reaps[0].second < 5000 + 1100);
  for (int i = 0; i < 5; ++i) complete(answer(probe_outcome::fail, 500));
  CHECK(log->reaps.size() == 1);  // asked once
}

TEST_CASE_METHOD(fixture, "node actor: a node that recovers starts its deregistration clock anew",
                 "[node_actor]") {
  health.deregister_after_ms = 3000;
  start();
  complete(answer(probe_outcome::pass));
  for (int i = 0; i < 3; ++i) complete(answer(probe_outcome::fail, 500));
  REQUIRE(health_now().status == node_status::unhealthy);
  complete(answer(probe_outcome::fail, 500));
  complete(answer(probe_outcome::pass));  // back before the 3 s ran out
  for (int i = 0; i < 3; ++i) complete(answer(probe_outcome::fail, 500));
  auto since = now;
  while (now - since < 2500ms) complete(answer(probe_outcome::fail, 500), 500ms);
  CHECK(log->reaps.empty());  // 2.5 s into the second spell: not yet
  while (now - since < 3000ms) complete(answer(probe_outcome::fail, 500), 500ms);
  CHECK(log->reaps.size() == 1);
}

TEST_CASE_METHOD(fixture, "node actor: without deregisterAfterMs an unhealthy node stays",
                 "[node_actor]") {
  start();
  for (int i = 0; i < 100; ++i) complete(answer(probe_outcome::fail, 500));  // ~100 s
  CHECK(health_now().status == node_status::unhealthy);
  CHECK(log->reaps.empty());
}

TEST_CASE_METHOD(fixture, "node actor: new settings reschedule; a new target is checked at once",
                 "[node_actor]") {
  start();
  complete(answer(probe_outcome::pass), 0ms);
  REQUIRE(probes->asked.size() == 1);
  pass(300ms);

  // A new interval: the schedule is replaced by one whose first check is due on the new
  // interval, counted from the start of the last check (300 ms ago).
  auto h2 = health;
  h2.interval_ms = 10000;
  caf::anon_send(node, spec_atom::value, spec, h2);
  sched.run();
  REQUIRE(probes->asked.size() == 2);
  CHECK(probes->asked[0].cancelled());
  CHECK(probes->asked[1].req.delay >= 9000ms - 300ms);
  CHECK(probes->asked[1].req.delay <= 11000ms - 300ms);
  // A result of the replaced schedule that was already on its way is ignored.
  probes->asked[0].done(answer(probe_outcome::fail, 500));
  sched.run();
  CHECK(health_now().consecutive_failures == 0);

  // A new expectation: checked now, with the new target.
  auto h3 = h2;
  h3.expect_body = "ready";
  caf::anon_send(node, spec_atom::value, spec, h3);
  sched.run();
  REQUIRE(probes->asked.size() == 3);
  CHECK(probes->asked[1].cancelled());
  CHECK(probes->asked[2].req.delay == 0ms);
  CHECK(probes->asked[2].req.target->settings.expect_body == "ready");
  // Settings that change neither the target nor the interval leave the schedule alone.
  auto h4 = h3;
  h4.unhealthy_after = 5;
  caf::anon_send(node, spec_atom::value, spec, h4);
  sched.run();
  CHECK(probes->asked.size() == 3);
}

TEST_CASE_METHOD(fixture, "node actor: a 418 drains the node until it answers 2xx again",
                 "[node_actor]") {
  start();
  complete(answer(probe_outcome::pass));
  complete(answer(probe_outcome::drain, 418));
  REQUIRE(log->reports.size() == 2);
  CHECK(log->reports[1].status == node_status::draining);
  CHECK(runtime->draining.load());
  complete(answer(probe_outcome::pass));
  CHECK(log->reports.back().status == node_status::healthy);
  CHECK(!runtime->draining.load());
}

TEST_CASE_METHOD(fixture, "node actor: a check still waiting when the node goes is cancelled",
                 "[node_actor]") {
  start();
  complete(answer(probe_outcome::pass));
  REQUIRE(probes->asked.size() == 1);
  auto cancelled = probes->asked.front().req.cancelled;
  REQUIRE(cancelled);
  CHECK(!cancelled->load());
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  sched.run();
  node = caf::actor{};
  CHECK(cancelled->load());
}
