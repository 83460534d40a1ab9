#include "cluster/registry_store.hpp"

#include "metrics/log.hpp"

#include "tests/unit/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

using namespace sg;
namespace fs = std::filesystem;

namespace {

using sg::test::temp_dir;

struct fixture {
  temp_dir dir{"sgd-store"};
  std::shared_ptr<uint64_t> now_ms = std::make_shared<uint64_t>(1'700'000'000'000ull);
  uint64_t compact_min_bytes = 4u << 20;
  uint64_t tombstone_ttl_ms = 24ull * 3600 * 1000;

  store_options options() const {
    store_options o;
    o.data_dir = dir.path;
    o.controller_id = "ctl-a";
    o.compact_min_bytes = compact_min_bytes;
    o.tombstone_ttl_ms = tombstone_ttl_ms;
    o.clock = [p = now_ms] { return *p; };
    return o;
  }

  std::unique_ptr<registry_store> open(journal_recovery* rec_out = nullptr) {
    std::unique_ptr<registry_store> s;
    journal_recovery rec;
    auto err = registry_store::open(options(), s, rec);
    INFO("open error: " << err);
    REQUIRE(err.empty());
    REQUIRE(s);
    if (rec_out) *rec_out = rec;
    return s;
  }
};

group_record group_rec(const std::string& name) {
  group_record r;
  r.spec.name = name;
  return r;
}

node_record node_rec(const std::string& group, const std::string& name, int32_t weight = 1,
                     bool deleted = false) {
  node_record r;
  r.spec.group = group;
  r.spec.name = name;
  r.spec.node_id = make_node_id(group, name);
  r.spec.base_url = "http://127.0.0.1:9000";
  r.spec.health_url = "http://127.0.0.1:9000/health";
  r.spec.weight = weight;
  r.spec.metadata = {{"region", "eastus"}};
  r.deleted = deleted;
  return r;
}

// Silences the structured logger for one test, restoring the default level after.
struct quiet_log {
  quiet_log() { log::set_level(log::level::off); }
  ~quiet_log() { log::set_level(log::level::info); }
};

}  // namespace

TEST_CASE("registry_store: commit stamps records and reopen restores the state", "[store]") {
  fixture f;
  registry_state before;
  {
    auto s = f.open();
    CHECK(s->state().record_count() == 0);
    auto g = group_rec("orders");
    g.st = stamp{0, "forged"};  // commit stamps it and overrides the origin
    REQUIRE(s->commit({g, node_rec("orders", "n1"), node_rec("orders", "n2")}).empty());

    auto* gr = s->state().group("orders");
    auto* n1 = s->state().node(make_node_id("orders", "n1"));
    auto* n2 = s->state().node(make_node_id("orders", "n2"));
    REQUIRE(gr);
    REQUIRE(n1);
    REQUIRE(n2);
    CHECK(gr->st.origin == "ctl-a");
    CHECK(n1->st.origin == "ctl-a");
    CHECK(hlc_clock::physical_part(gr->st.hlc) == *f.now_ms);
    CHECK(gr->st.hlc < n1->st.hlc);
    CHECK(n1->st.hlc < n2->st.hlc);

    *f.now_ms += 10;
    REQUIRE(s->commit({node_rec("orders", "n1", 7)}).empty());
    auto* n1b = s->state().node(make_node_id("orders", "n1"));
    REQUIRE(n1b);
    CHECK(n1b->spec.weight == 7);
    CHECK(n1b->st.hlc > n2->st.hlc);
    REQUIRE(s->commit({node_rec("orders", "n2", 1, true)}).empty());
    CHECK(s->state().node(make_node_id("orders", "n2")) == nullptr);

    // A caller's own (low) stamp is kept, as an implicit group creation needs; the origin is
    // still ours.
    auto low = group_rec("implicit");
    low.st = stamp{5, "forged"};
    REQUIRE(s->commit({low}).empty());
    auto* lr = s->state().group("implicit");
    REQUIRE(lr);
    CHECK(lr->st == stamp{5, "ctl-a"});
    before = s->state();
  }
  journal_recovery rec;
  auto s = f.open(&rec);
  CHECK(rec.entries == 6);
  CHECK(rec.dropped_bytes == 0);
  CHECK(s->state() == before);

  SECTION("stamps keep increasing after reopen even if the wall clock went back") {
    *f.now_ms -= 3'600'000;
    REQUIRE(s->commit({node_rec("orders", "n3")}).empty());
    CHECK(s->state().node(make_node_id("orders", "n3"))->st.hlc > before.max_hlc());
  }
}

TEST_CASE("registry_store: a data dir is used by one store at a time", "[store]") {
  fixture f;
  auto first = f.open();
  {
    std::unique_ptr<registry_store> second;
    journal_recovery rec;
    auto err = registry_store::open(f.options(), second, rec);
    CHECK_THAT(err, Catch::Contains("in use"));
    CHECK_THAT(err, Catch::Contains(f.dir.path));
    CHECK_FALSE(second);
  }
  first.reset();
  CHECK(f.open());  // released with the first store
}

TEST_CASE("registry_store: an unusable data dir is reported", "[store]") {
  fixture f;
  auto o = f.options();
  o.data_dir = f.dir.path + "/does/not/exist";
  std::unique_ptr<registry_store> s;
  journal_recovery rec;
  auto err = registry_store::open(o, s, rec);
  CHECK_THAT(err, Catch::Contains(o.data_dir));
  CHECK_FALSE(s);
}

TEST_CASE("registry_store: compaction bounds the journal and keeps the state", "[store]") {
  quiet_log quiet;  // one "journal compacted" line per compaction otherwise
  fixture f;
  f.compact_min_bytes = 1024;
  registry_state before;
  {
    auto s = f.open();
    REQUIRE(s->commit({group_rec("orders")}).empty());
    auto start = s->journal_bytes();
    REQUIRE(s->commit({node_rec("orders", "busy", 1)}).empty());
    const uint64_t one_entry = s->journal_bytes() - start;
    REQUIRE(one_entry > 0);
    uint64_t peak = 0, prev = s->journal_bytes();
    int shrinks = 0;
    for (int i = 0; i < 300; ++i) {
      *f.now_ms += 1;
      REQUIRE(s->commit({node_rec("orders", "busy", 1 + i % 1000)}).empty());
      peak = std::max(peak, s->journal_bytes());
      if (s->journal_bytes() < prev) ++shrinks;
      prev = s->journal_bytes();
    }
    CHECK(s->state().node(make_node_id("orders", "busy"))->spec.weight == 300);
    CHECK(shrinks > 0);
    // The threshold is max(compact_min_bytes, compact_ratio (4) x the compacted size): the
    // journal never grows more than one entry past it, far below 300 uncompacted entries.
    REQUIRE(s->compact().empty());
    const uint64_t compacted = s->journal_bytes();
    CHECK(compacted < 3 * one_entry);  // just the group and the node
    CHECK(peak <= std::max<uint64_t>(1024, 4 * compacted) + one_entry);
    CHECK(peak < 300 * one_entry / 10);
    before = s->state();
  }
  journal_recovery rec;
  auto s = f.open(&rec);
  CHECK(rec.dropped_bytes == 0);
  CHECK(rec.entries == 2);
  CHECK(s->state() == before);
}

TEST_CASE("registry_store: compact() drops tombstones older than the ttl", "[store]") {
  fixture f;
  f.tombstone_ttl_ms = 1000;
  auto s = f.open();
  REQUIRE(s->commit({group_rec("orders"), node_rec("orders", "keep"), node_rec("orders", "gone")})
              .empty());
  *f.now_ms += 100;
  REQUIRE(s->commit({node_rec("orders", "gone", 1, true)}).empty());
  auto gone = make_node_id("orders", "gone");
  REQUIRE(s->state().nodes().count(gone) == 1);

  *f.now_ms += 500;  // younger than the ttl: kept (it must still replicate)
  REQUIRE(s->compact().empty());
  CHECK(s->state().nodes().count(gone) == 1);
  CHECK(s->state().nodes().at(gone).deleted);

  *f.now_ms += 1000;  // now older than the ttl
  REQUIRE(s->compact().empty());
  CHECK(s->state().nodes().count(gone) == 0);
  // Live records are kept however old they are.
  CHECK(s->state().group("orders"));
  CHECK(s->state().node(make_node_id("orders", "keep")));

  auto after = s->state();
  s.reset();
  auto again = f.open();
  CHECK(again->state() == after);
  CHECK(again->state().nodes().count(gone) == 0);
}
