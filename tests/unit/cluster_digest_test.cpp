// Anti-entropy digests of registry_state: 64 buckets, order-independent; a difference in one
// record shows up in exactly that record's bucket; exchanging the records of the differing
// buckets both ways (what registry_actor's anti_entropy() does) makes two replicas equal, in any
// order of merges.
#include "cluster/registry_state.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using namespace sg;

namespace {

node_record node(const std::string& group, const std::string& name, uint64_t hlc,
                 const std::string& origin, bool deleted = false, int32_t weight = 1) {
  node_record r;
  r.spec.group = group;
  r.spec.name = name;
  r.spec.node_id = make_node_id(group, name);
  r.spec.weight = weight;
  r.spec.base_url = "http://10.0.0.1:" + std::to_string(1000 + weight);
  r.st = stamp{hlc, origin};
  r.deleted = deleted;
  return r;
}

group_record grp(const std::string& name, uint64_t hlc, const std::string& origin,
                 bool deleted = false) {
  group_record r;
  r.spec.name = name;
  r.st = stamp{hlc, origin};
  r.deleted = deleted;
  return r;
}

// A realistic base: 4 groups, 300 nodes (every bucket holds several records).
std::vector<node_record> base_nodes() {
  std::vector<node_record> out;
  for (int g = 0; g < 4; ++g)
    for (int n = 0; n < 75; ++n)
      out.push_back(node("g" + std::to_string(g), "n" + std::to_string(n),
                         1000 + static_cast<uint64_t>(g * 100 + n), "ctl-a", false, 1 + n));
  return out;
}

registry_state base_state() {
  registry_state s;
  for (int g = 0; g < 4; ++g) s.merge(grp("g" + std::to_string(g), 10, "ctl-a"));
  for (auto& n : base_nodes()) s.merge(n);
  return s;
}

std::vector<size_t> differing(const registry_state& a, const registry_state& b) {
  auto da = a.digest(), db = b.digest();
  REQUIRE(da.size() == registry_state::digest_buckets);
  REQUIRE(db.size() == registry_state::digest_buckets);
  std::vector<size_t> out;
  for (size_t i = 0; i < da.size(); ++i)
    if (da[i] != db[i]) out.push_back(i);
  return out;
}

std::vector<char> mark(const std::vector<size_t>& buckets) {
  std::vector<char> m(registry_state::digest_buckets, 0);
  for (auto b : buckets) m[b] = 1;
  return m;
}

// A random divergent write on one replica: a new node, an update, a delete, a new group.
void random_write(registry_state& s, std::mt19937& rng, const std::string& origin,
                  uint64_t& clock) {
  std::uniform_int_distribution<int> kind(0, 9), g(0, 5), n(0, 120), w(1, 1000);
  auto group = "g" + std::to_string(g(rng));
  auto name = "n" + std::to_string(n(rng));
  ++clock;
  switch (kind(rng)) {
    case 0: s.merge(grp(group, clock, origin, false)); break;
    case 1:
    case 2: s.merge(node(group, name, clock, origin, true)); break;  // tombstone
    default: s.merge(node(group, name, clock, origin, false, w(rng))); break;
  }
}

// One anti-entropy exchange between a and b in the actor's order: b answers a's digest with its
// records of the differing buckets, a merges them, then sends its own of the same buckets.
void exchange(registry_state& a, registry_state& b) {
  auto marked = mark(differing(a, b));
  std::vector<group_record> bg, ag;
  std::vector<node_record> bn, an;
  b.collect(marked, bg, bn);
  for (auto& r : bg) a.merge(r);
  for (auto& r : bn) a.merge(r);
  a.collect(marked, ag, an);
  for (auto& r : ag) b.merge(r);
  for (auto& r : an) b.merge(r);
}

}  // namespace

TEST_CASE("digest: equal states give equal digests, whatever the merge order", "[cluster]") {
  auto recs = base_nodes();
  std::mt19937 rng(42);
  registry_state forward, backward, shuffled;
  for (auto& r : recs) forward.merge(r);
  for (auto i = recs.rbegin(); i != recs.rend(); ++i) backward.merge(*i);
  std::shuffle(recs.begin(), recs.end(), rng);
  for (auto& r : recs) shuffled.merge(r);
  REQUIRE(forward == backward);
  REQUIRE(forward == shuffled);
  CHECK(forward.digest() == backward.digest());
  CHECK(forward.digest() == shuffled.digest());
  CHECK(forward.digest().size() == registry_state::digest_buckets);
  CHECK(registry_state{}.digest() == registry_state{}.digest());
  CHECK(registry_state{}.digest() != forward.digest());
  // 300 records over 64 buckets: nearly all buckets are in use (the keys spread).
  auto d = forward.digest();
  CHECK(std::count(d.begin(), d.end(), uint64_t{0}) < 8);
}

TEST_CASE("digest: one differing record changes exactly its own bucket", "[cluster]") {
  auto a = base_state();
  auto b = base_state();
  REQUIRE(differing(a, b).empty());
  const auto id = make_node_id("g1", "n7");
  node_record changed;

  SECTION("a newer write of an existing node") {
    changed = node("g1", "n7", 5000, "ctl-b", false, 999);
  }
  SECTION("a tombstone of an existing node") {
    changed = node("g1", "n7", 5000, "ctl-b", true, 8);
  }
  SECTION("the same stamp, deleted on one side only") {
    changed = *a.node(id);
    changed.deleted = true;
  }
  SECTION("a node only one side has") {
    changed = node("g9", "brand-new", 5000, "ctl-c");
  }
  REQUIRE(b.merge(changed));
  auto diff = differing(a, b);
  REQUIRE(diff.size() == 1);

  // The one bucket is the changed record's: collect() of it on b returns that record (and only
  // records of that bucket: a strict subset of the state).
  std::vector<group_record> gs;
  std::vector<node_record> ns;
  b.collect(mark(diff), gs, ns);
  CHECK(std::find(ns.begin(), ns.end(), changed) != ns.end());
  CHECK(ns.size() + gs.size() < b.record_count());
  for (auto& n : ns) {
    registry_state one;
    one.merge(n);
    auto d = one.digest();
    CHECK(std::count_if(d.begin(), d.end(), [](uint64_t x) { return x != 0; }) == 1);
    CHECK(d[diff[0]] != 0);  // every collected record hashes into the marked bucket
  }
  // A group-level difference, independently, also touches one bucket only.
  auto c = base_state();
  c.merge(grp("g2", 20, "ctl-b", true));
  CHECK(differing(a, c).size() == 1);
}

TEST_CASE("digest: exchanging the differing buckets both ways converges", "[cluster]") {
  std::mt19937 rng(20261126);
  int multi_bucket = 0;
  for (int trial = 0; trial < 100; ++trial) {
    INFO("trial " << trial);
    auto a = base_state();
    auto b = base_state();
    uint64_t ca = 2000, cb = 2000;  // overlapping clocks: concurrent writes, equal hlc too
    std::uniform_int_distribution<int> writes(0, 25);
    for (int i = writes(rng); i > 0; --i) random_write(a, rng, "ctl-a", ca);
    for (int i = writes(rng); i > 0; --i) random_write(b, rng, "ctl-b", cb);
    auto diff = differing(a, b);
    if (diff.size() > 1) ++multi_bucket;
    // The state both must reach: the plain merge of the two replicas.
    auto expected = a;
    expected.merge(b);

    exchange(a, b);
    CHECK(differing(a, b).empty());
    CHECK(a.digest() == b.digest());
    CHECK(a == expected);
    CHECK(b == expected);
    // A second round finds nothing to do.
    auto a2 = a, b2 = b;
    exchange(a2, b2);
    CHECK(a2 == a);
    CHECK(b2 == b);
  }
  CHECK(multi_bucket > 50);
}

TEST_CASE("digest: the order of repair merges does not matter", "[cluster]") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    INFO("trial " << trial);
    auto a = base_state();
    auto b = base_state();
    uint64_t ca = 3000, cb = 3000;
    for (int i = 0; i < 20; ++i) random_write(a, rng, "ctl-a", ca);
    for (int i = 0; i < 20; ++i) random_write(b, rng, "ctl-b", cb);
    auto marked = mark(differing(a, b));
    std::vector<group_record> ag, bg;
    std::vector<node_record> an, bn;
    a.collect(marked, ag, an);  // both collected before either merges
    b.collect(marked, bg, bn);

    // a <- b first, then b <- a; versus b <- a first, then a <- b; records in shuffled order.
    auto a1 = a, b1 = b;
    for (auto& r : bg) a1.merge(r);
    for (auto& r : bn) a1.merge(r);
    for (auto& r : ag) b1.merge(r);
    for (auto& r : an) b1.merge(r);

    auto a2 = a, b2 = b;
    std::shuffle(an.begin(), an.end(), rng);
    std::shuffle(bn.begin(), bn.end(), rng);
    for (auto i = an.rbegin(); i != an.rend(); ++i) b2.merge(*i);
    for (auto& r : ag) b2.merge(r);
    for (auto& r : bn) a2.merge(r);
    for (auto& r : bg) a2.merge(r);

    CHECK(a1 == b1);
    CHECK(a2 == b2);
    CHECK(a1 == a2);
    CHECK(a1.digest() == b2.digest());
    // Merging a repair twice is harmless (a delta and an anti-entropy round may overlap).
    auto a3 = a1;
    for (auto& r : bn) a3.merge(r);
    CHECK(a3 == a1);
  }
}
