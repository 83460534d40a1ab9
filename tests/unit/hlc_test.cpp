#include "cluster/hlc.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

using namespace sg;

namespace {

// A physical clock the test moves by hand.
struct scripted_clock {
  std::shared_ptr<uint64_t> ms = std::make_shared<uint64_t>(1'700'000'000'000ull);
  hlc_clock::physical_fn fn() const {
    return [p = ms] { return *p; };
  }
};

}  // namespace

TEST_CASE("hlc stamps strictly increase whatever the physical clock does", "[hlc]") {
  scripted_clock wall;
  hlc_clock clock(wall.fn());
  uint64_t prev = clock.now();

  SECTION("standing still") {
    for (int i = 0; i < 1000; ++i) {
      auto t = clock.now();
      REQUIRE(t > prev);
      prev = t;
    }
    CHECK(hlc_clock::physical_part(prev) == *wall.ms);
  }
  SECTION("going backwards") {
    const int64_t steps[] = {-1, -5000, 0, -3600000, 2, -1, 0, 10};
    for (auto step : steps) {
      *wall.ms += step;
      for (int i = 0; i < 3; ++i) {
        auto t = clock.now();
        REQUIRE(t > prev);
        prev = t;
      }
    }
    CHECK(clock.last() == prev);
  }
}

TEST_CASE("hlc physical part tracks wall time when it advances", "[hlc]") {
  scripted_clock wall;
  hlc_clock clock(wall.fn());
  auto t0 = clock.now();
  CHECK(hlc_clock::physical_part(t0) == *wall.ms);
  for (int i = 0; i < 5; ++i) clock.now();  // counter grows in the same ms
  *wall.ms += 250;
  auto t1 = clock.now();
  CHECK(hlc_clock::physical_part(t1) == *wall.ms);
  CHECK(t1 == hlc_clock::from_ms(*wall.ms));  // the counter resets on a new ms
  *wall.ms += 1;
  CHECK(hlc_clock::physical_part(clock.now()) == *wall.ms);
}

TEST_CASE("observing a remote stamp keeps the clock ahead of it", "[hlc]") {
  scripted_clock wall;
  hlc_clock clock(wall.fn());
  auto local = clock.now();

  SECTION("remote ahead within the bound is adopted") {
    auto remote = hlc_clock::from_ms(*wall.ms + 400) + 7;
    CHECK(clock.observe(remote));
    auto t = clock.now();
    CHECK(t > remote);
    CHECK(hlc_clock::physical_part(t) == *wall.ms + 400);
    // Once wall time passes the remote's physical time, it is tracked again.
    *wall.ms += 401;
    auto later = clock.now();
    CHECK(later > t);
    CHECK(hlc_clock::physical_part(later) == *wall.ms);
  }
  SECTION("a peer an hour ahead is not adopted: local stamps keep wall time") {
    // The bug this guards: one controller at +1 h made every clock that saw its stamps advance
    // only its counter for an hour, so two correct controllers ordered their writes by count.
    auto remote = hlc_clock::from_ms(*wall.ms + 3'600'000) + 7;
    CHECK_FALSE(clock.observe(remote));
    CHECK(clock.last() == local);
    *wall.ms += 5000;  // a write five seconds later
    auto t = clock.now();
    CHECK(hlc_clock::physical_part(t) == *wall.ms);
    CHECK(t > local);
  }
  SECTION("the bound is configurable") {
    hlc_clock tight(wall.fn(), 10);
    CHECK_FALSE(tight.observe(hlc_clock::from_ms(*wall.ms + 11)));
    CHECK(tight.observe(hlc_clock::from_ms(*wall.ms + 10)));
  }
  SECTION("remote in the past changes nothing") {
    clock.observe(hlc_clock::from_ms(*wall.ms - 1000));
    CHECK(clock.last() == local);
    CHECK(clock.now() == local + 1);
  }
}

TEST_CASE("hlc with the real wall clock", "[hlc]") {
  hlc_clock clock;
  auto before = hlc_clock::wall_ms();
  auto t = clock.now();
  auto after = hlc_clock::wall_ms();
  CHECK(hlc_clock::physical_part(t) >= before);
  CHECK(hlc_clock::physical_part(t) <= after);
}
