// The write path of the registry: every write stamped fresh (even one equal to the local copy),
// staged writes visible to the next validation, and group commit (many writes, few fdatasyncs).
#include "actors/messages.hpp"
#include "actors/spec_json.hpp"
#include "cluster/registry_actor.hpp"
#include "cluster/registry_store.hpp"
#include "metrics/log.hpp"

#include "tests/unit/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <string>

using namespace sg;
using namespace std::chrono_literals;

namespace {

using sg::test::temp_dir;

struct store_fixture {
  temp_dir dir{"sgd-commit"};
  std::shared_ptr<uint64_t> now_ms = std::make_shared<uint64_t>(1'700'000'000'000ull);
  std::unique_ptr<registry_store> open(const std::string& id = "ctl-a") {
    store_options o;
    o.data_dir = dir.path;
    o.controller_id = id;
    o.clock = [p = now_ms] { return *p; };
    std::unique_ptr<registry_store> s;
    journal_recovery rec;
    auto err = registry_store::open(o, s, rec);
    INFO("open error: " << err);
    REQUIRE(err.empty());
    return s;
  }
};

node_record node_rec(const std::string& name, int32_t weight) {
  node_record r;
  r.spec.group = "orders";
  r.spec.name = name;
  r.spec.node_id = make_node_id("orders", name);
  r.spec.base_url = "http://127.0.0.1:9000";
  r.spec.health_url = "http://127.0.0.1:9000/health";
  r.spec.weight = weight;
  return r;
}

}  // namespace

TEST_CASE("registry_store: a write equal to the local copy is stamped and journaled anyway",
          "[store][commit]") {
  // The local copy may be stale (this controller was away while a peer changed the record):
  // skipping the write as a no-op let the peer's earlier write win after healing.
  store_fixture f;
  auto s = f.open();
  REQUIRE(s->commit({node_rec("x", 1)}).empty());
  auto first = s->state().node(make_node_id("orders", "x"))->st;
  auto bytes = s->journal_bytes();
  *f.now_ms += 5;
  std::vector<any_record> stamped;
  REQUIRE(s->commit({node_rec("x", 1)}, &stamped).empty());
  auto second = s->state().node(make_node_id("orders", "x"))->st;
  CHECK(second.hlc > first.hlc);
  CHECK(s->journal_bytes() > bytes);
  REQUIRE(stamped.size() == 1);  // and handed on for replication
  CHECK(std::get<node_record>(stamped[0]).st == second);

  SECTION("it beats a peer's record stamped earlier in real time") {
    auto peer = node_rec("x", 5);
    peer.st = stamp{hlc_clock::from_ms(*f.now_ms - 1000), "ctl-b"};
    std::vector<any_record> won;
    REQUIRE(s->merge_remote({}, {peer}, won).empty());
    CHECK(won.empty());  // ours is newer
    CHECK(s->state().node(make_node_id("orders", "x"))->spec.weight == 1);
  }
  SECTION("a later write beats a record from a peer far ahead, without taking its clock") {
    auto ahead = node_rec("x", 5);
    ahead.st = stamp{hlc_clock::from_ms(*f.now_ms + 3'600'000), "ctl-skewed"};
    std::vector<any_record> won;
    REQUIRE(s->merge_remote({}, {ahead}, won).empty());
    CHECK(won.size() == 1);  // merged: it is newer by stamp
    CHECK(hlc_clock::physical_part(s->clock().last()) < *f.now_ms + 1000);  // not adopted
    // A write made after it here replaces it (the stamp goes above the record it overwrites) ...
    REQUIRE(s->commit({node_rec("x", 9)}).empty());
    CHECK(s->state().node(make_node_id("orders", "x"))->spec.weight == 9);
    // ... while writes to other keys keep wall-clock stamps.
    REQUIRE(s->commit({node_rec("y", 1)}).empty());
    CHECK(hlc_clock::physical_part(s->state().node(make_node_id("orders", "y"))->st.hlc) ==
          *f.now_ms);
  }
}

TEST_CASE("registry_store: staged writes are seen by lookups and applied only when durable",
          "[store][commit]") {
  store_fixture f;
  auto s = f.open();
  auto id = make_node_id("orders", "x");
  auto b1 = s->stage_local({node_rec("x", 1)});
  CHECK(s->has_staged());
  REQUIRE(s->node(id));                   // the next write validates against it ...
  CHECK(s->state().node(id) == nullptr);  // ... but it is not durable yet
  auto b2 = s->stage_local({node_rec("x", 2)});
  CHECK(s->node(id)->spec.weight == 2);
  CHECK(s->nodes_of("orders").size() == 1);

  SECTION("both durable: the newer one wins") {
    s->complete(b1, true);
    CHECK(s->state().node(id)->spec.weight == 1);
    CHECK(s->node(id)->spec.weight == 2);  // b2 still staged on top
    s->complete(b2, true);
    CHECK(s->state().node(id)->spec.weight == 2);
    CHECK_FALSE(s->has_staged());
  }
  SECTION("a failed journal write changes nothing") {
    s->complete(b1, false);
    s->complete(b2, false);
    CHECK_FALSE(s->has_staged());
    CHECK(s->node(id) == nullptr);
    CHECK(s->state().record_count() == 0);
  }
  SECTION("a staged delete hides the node") {
    auto gone = node_rec("x", 2);
    gone.deleted = true;
    auto b3 = s->stage_local({gone});
    CHECK(s->node(id) == nullptr);
    CHECK(s->nodes_of("orders").empty());
    s->complete(b1, true);
    s->complete(b2, true);
    s->complete(b3, true);
    CHECK(s->state().node(id) == nullptr);
    CHECK(s->state().tombstone_count() == 1);
  }
}

namespace {

struct test_config : caf::actor_system_config {
  test_config() {
    add_actor_types(*this);
    add_cluster_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", 2);
  }
};

}  // namespace

TEST_CASE("registry_actor: concurrent writes share journal batches (group commit)",
          "[registry_actor][commit]") {
  temp_dir dir{"sgd-group-commit"};
  test_config cfg;
  caf::actor_system sys{cfg};
  auto stats = std::make_shared<cluster_stats>();
  {
    store_options o;
    o.data_dir = dir.path;
    o.controller_id = "ctl-test";
    std::unique_ptr<registry_store> store;
    journal_recovery rec;
    REQUIRE(registry_store::open(o, store, rec).empty());
    registry_actor_args args;
    args.store = std::move(store);
    args.table = std::make_shared<routing_table>();
    args.stats = stats;
    auto registry = sys.spawn(registry_actor, args);
    caf::scoped_actor self{sys};
    constexpr int writes = 200;
    // All requests are in the mailbox before the first journal write returns.
    for (int i = 0; i < writes; ++i) {
      node_spec n;
      n.name = "n" + std::to_string(i % 20);  // re-registrations too: each one is a write
      n.base_url = "http://127.0.0.1:9" + std::to_string(100 + i % 20);
      self->send(registry, node_put_atom::value, std::string("orders"), n,
                 uint32_t{json::nf_name | json::nf_base_url});
    }
    int ok = 0;
    for (int i = 0; i < writes; ++i)
      self->receive([&](register_result&) { ++ok; }, [&](caf::error& e) { FAIL(sys.render(e)); },
                    caf::after(10s) >> [&] { FAIL("no answer"); });
    CHECK(ok == writes);
    auto batches = stats->journal_batches.load();
    INFO("journal batches: " << batches << " for " << writes << " writes");
    CHECK(stats->journal_writes.load() == static_cast<uint64_t>(writes));
    CHECK(batches >= 1);
    CHECK(batches < static_cast<uint64_t>(writes) / 2);
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    self->wait_for(registry);
  }
  // The journal writer (detached, linked) holds the store until it has exited too.
  sys.await_all_actors_done();
  // Every write is in the journal: the 20 nodes come back on reopen.
  store_options o;
  o.data_dir = dir.path;
  o.controller_id = "ctl-test";
  std::unique_ptr<registry_store> store;
  journal_recovery rec;
  auto opened = registry_store::open(o, store, rec);
  INFO(opened);
  REQUIRE(opened.empty());
  CHECK(rec.entries == 201);  // one group creation + 200 node writes
  CHECK(store->state().live_node_count() == 20);
}
