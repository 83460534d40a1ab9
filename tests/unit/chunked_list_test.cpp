// chunked_list against a plain vector under random pushes, sets and removals, and the property
// the routing snapshots rely on: a copy taken earlier never changes.
#include "actors/chunked_list.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <vector>

using sg::chunked_list;

namespace {

template <class T>
std::vector<T> contents(const chunked_list<T>& l) {
  std::vector<T> out;
  for (auto& v : l) out.push_back(v);
  return out;
}

}  // namespace

TEST_CASE("chunked_list: matches a vector under random changes", "[chunked_list]") {
  std::mt19937 rng{7};
  chunked_list<int> l;
  std::vector<int> model;
  std::vector<std::pair<chunked_list<int>, std::vector<int>>> copies;
  for (int step = 0; step < 20000; ++step) {
    auto op = rng() % 10;
    if (op < 5 || model.empty()) {
      l.push_back(step);
      model.push_back(step);
    } else if (op < 7) {
      auto i = rng() % model.size();
      l.set(i, -step);
      model[i] = -step;
    } else {
      auto i = rng() % model.size();
      auto moved = l.remove_swap_last(i);
      model[i] = model.back();
      model.pop_back();
      if (i < model.size())
        CHECK(moved == model[i]);
      else
        CHECK(moved == 0);  // the removed entry was the last one
    }
    REQUIRE(l.size() == model.size());
    if (step % 997 == 0) copies.emplace_back(l, model);
  }
  CHECK(contents(l) == model);
  for (size_t i = 0; i < model.size(); ++i) REQUIRE(l[i] == model[i]);
  // Every copy still holds what it held when taken.
  for (auto& [copy, then] : copies) CHECK(contents(copy) == then);
}

TEST_CASE("chunked_list: chunk boundaries and emptying", "[chunked_list]") {
  constexpr size_t n = chunked_list<int>::chunk_size * 2 + 1;
  chunked_list<int> l;
  for (size_t i = 0; i < n; ++i) l.push_back(static_cast<int>(i));
  auto before = l;
  while (!l.empty()) l.remove_swap_last(0);
  CHECK(l.size() == 0);
  CHECK(l.begin() == l.end());
  REQUIRE(before.size() == n);
  for (size_t i = 0; i < n; ++i) CHECK(before[i] == static_cast<int>(i));
  l.push_back(42);  // usable again after emptying
  CHECK(contents(l) == std::vector<int>{42});
}
