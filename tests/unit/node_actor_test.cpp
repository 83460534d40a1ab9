// The node actor in virtual time: CAF's test_coordinator runs every message, a scripted prober
// records each check the actor asks for (and answers it when the test says so), and the actor's
// clock is the test's. Nothing sleeps and nothing depends on the machine's speed.
#include "actors/node_actor.hpp"

#include "actors/messages.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <deque>
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

// Checks the actor asked for, answered only when the test says so.
struct scripted_prober : prober {
  struct pending {
    probe_request req;
    std::function<void(probe_result)> done;
  };
  std::deque<pending> asked;
  void probe(probe_request req, std::function<void(probe_result)> done) override {
    asked.push_back({std::move(req), std::move(done)});
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

  // Answers the oldest check the actor asked for after waiting out its delay (and `took` more
  // for the check itself), then runs what that caused.
  probe_request complete(probe_result r, milliseconds took = 0ms) {
    REQUIRE(!probes->asked.empty());
    auto p = std::move(probes->asked.front());
    probes->asked.pop_front();
    pass(p.req.delay + took);
    p.done(std::move(r));
    sched.run();
    return p.req;
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

TEST_CASE_METHOD(fixture, "node actor: checks follow the interval with 10% jitter from each start",
                 "[node_actor]") {
  start();
  complete(answer(probe_outcome::pass));
  std::vector<milliseconds> delays;
  for (int i = 0; i < 50; ++i) {
    REQUIRE(probes->asked.size() == 1);
    delays.push_back(probes->asked.front().req.delay);
    complete(answer(probe_outcome::pass), 30ms);  // each check takes 30 ms
  }
  // The delay counts from the start of the previous check: its 30 ms are taken off.
  bool varied = false;
  CHECK(delays[0] >= 900ms);  // the first check took no time
  CHECK(delays[0] <= 1100ms);
  for (size_t i = 1; i < delays.size(); ++i) {
    CHECK(delays[i] >= 900ms - 30ms);
    CHECK(delays[i] <= 1100ms - 30ms);
    varied = varied || delays[i] != delays[1];
  }
  CHECK(varied);
  // Only the first answer changed the status: later passes send the group nothing.
  CHECK(log->reports.size() == 1);
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
  while (now - since < 2500ms) complete(answer(probe_outcome::fail, 500));
  CHECK(log->reaps.empty());  // 2.5 s into the second spell: not yet
  while (now - since < 3000ms) complete(answer(probe_outcome::fail, 500));
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
  complete(answer(probe_outcome::pass));
  REQUIRE(probes->asked.size() == 1);  // waiting on the 1 s interval

  // A new interval: the waiting check is superseded by one on the new interval.
  auto h2 = health;
  h2.interval_ms = 10000;
  h2.timeout_ms = 200;
  caf::anon_send(node, spec_atom::value, spec, h2);
  sched.run();
  REQUIRE(probes->asked.size() == 2);
  CHECK(probes->asked.back().req.delay >= 9000ms);
  // The superseded check's answer is ignored.
  auto stale = std::move(probes->asked.front());
  probes->asked.pop_front();
  stale.done(answer(probe_outcome::fail, 500));
  sched.run();
  CHECK(health_now().consecutive_failures == 0);

  // A new expectation: checked now, with the new target.
  auto h3 = h2;
  h3.expect_body = "ready";
  caf::anon_send(node, spec_atom::value, spec, h3);
  sched.run();
  REQUIRE(probes->asked.size() == 2);
  CHECK(probes->asked.back().req.delay == 0ms);
  CHECK(probes->asked.back().req.target->settings.expect_body == "ready");
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
