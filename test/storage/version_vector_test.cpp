#include "storage/version_vector.hpp"

#include <catch2/catch.hpp>

#include <random>

namespace kv::storage {
namespace {

using entry = version_vector::entry;

version_vector vv(std::vector<entry> entries) {
  return version_vector::from_entries(std::move(entries));
}

version_vector merged(version_vector a, const version_vector& b) {
  a.merge(b);
  return a;
}

version_vector random_vector(std::mt19937& rng) {
  std::uniform_int_distribution<int> size(0, 4), actor(0, 5), counter(1, 4), stamp(0, 3);
  std::vector<entry> entries;
  for (int n = size(rng); n > 0; --n)
    entries.push_back({std::string(1, static_cast<char>('a' + actor(rng))),
                       static_cast<uint64_t>(counter(rng)), stamp(rng)});
  return vv(std::move(entries));
}

}  // namespace

TEST_CASE("from_entries sorts by actor, drops zero counters and joins duplicates",
          "[version_vector]") {
  auto v = vv({{"b", 2, 5}, {"a", 1, 9}, {"c", 0, 1}, {"b", 3, 4}, {"a", 1, 10}});
  REQUIRE(v.entries() == std::vector<entry>{{"a", 1, 10}, {"b", 3, 4}});
  CHECK(v.counter("a") == 1);
  CHECK(v.counter("b") == 3);
  CHECK(v.counter("c") == 0);
  CHECK(v.size() == 2);
}

TEST_CASE("a vector covers exactly the events up to each actor's counter", "[version_vector]") {
  auto v = vv({{"a", 2, 0}});
  CHECK(v.covers({"a", 1}));
  CHECK(v.covers({"a", 2}));
  CHECK_FALSE(v.covers({"a", 3}));
  CHECK_FALSE(v.covers({"b", 1}));
  CHECK(version_vector{}.empty());
}

TEST_CASE("descends means covering every event of the other vector", "[version_vector]") {
  auto ab = vv({{"a", 2, 0}, {"b", 1, 0}});
  auto a = vv({{"a", 2, 0}});
  auto b2 = vv({{"b", 2, 0}});
  CHECK(ab.descends(a));
  CHECK(ab.descends(version_vector{}));
  CHECK(ab.descends(ab));
  CHECK_FALSE(a.descends(ab));
  CHECK_FALSE(ab.descends(b2));
  CHECK_FALSE(b2.descends(ab));
}

TEST_CASE("add raises an entry and stamps it, and never lowers one", "[version_vector]") {
  version_vector v;
  v.add({"b", 1}, 100);
  v.add({"a", 3}, 200);
  v.add({"a", 2}, 300);
  REQUIRE(v.entries() == std::vector<entry>{{"a", 3, 200}, {"b", 1, 100}});
  v.add({"b", 4}, 400);
  CHECK(v.entries().back() == entry{"b", 4, 400});
}

TEST_CASE("merge is the pointwise maximum, later stamp on equal counters", "[version_vector]") {
  auto a = vv({{"a", 2, 10}, {"b", 1, 50}, {"c", 3, 5}});
  auto b = vv({{"b", 1, 60}, {"c", 4, 1}, {"d", 1, 7}});
  CHECK(merged(a, b).entries() ==
        std::vector<entry>{{"a", 2, 10}, {"b", 1, 60}, {"c", 4, 1}, {"d", 1, 7}});
}

TEST_CASE("merge is commutative, associative and idempotent", "[version_vector]") {
  std::mt19937 rng{7};
  for (int i = 0; i < 500; ++i) {
    auto a = random_vector(rng), b = random_vector(rng), c = random_vector(rng);
    CHECK(merged(a, b) == merged(b, a));
    CHECK(merged(merged(a, b), c) == merged(a, merged(b, c)));
    CHECK(merged(a, a) == a);
    CHECK(merged(a, b).descends(a));
  }
}

TEST_CASE("prune drops the oldest entries first and never one it must keep", "[version_vector]") {
  auto v = vv({{"a", 1, 30}, {"b", 1, 10}, {"c", 1, 20}, {"d", 1, 10}, {"e", 1, 40}});
  auto keep_b = [](std::string_view actor) { return actor == "b"; };

  auto keep_none = [](std::string_view) { return false; };

  SECTION("down to the limit, oldest first, ties broken by actor") {
    CHECK(v.prune(4, keep_none) == 1);
    CHECK(v.counter("b") == 0);
    CHECK(v.prune(2, keep_none) == 2);
    CHECK(v.entries() == std::vector<entry>{{"a", 1, 30}, {"e", 1, 40}});
  }
  SECTION("skipping the entries it must keep") {
    CHECK(v.prune(3, keep_b) == 2);
    CHECK(v.entries() == std::vector<entry>{{"a", 1, 30}, {"b", 1, 10}, {"e", 1, 40}});
  }
  SECTION("above the limit when only kept entries remain") {
    auto keep_all_but_d = [](std::string_view actor) { return actor != "d"; };
    CHECK(v.prune(1, keep_all_but_d) == 1);
    CHECK(v.size() == 4);
    CHECK(v.counter("d") == 0);
  }
  SECTION("not at all within the limit, or without one") {
    CHECK(v.prune(5, keep_b) == 0);
    CHECK(v.prune(0, keep_b) == 0);
    CHECK(v.size() == 5);
  }
}

TEST_CASE("vectors and dots print as actor:counter", "[version_vector]") {
  CHECK(to_string(dot{"n1.kq3x9a1", 7}) == "n1.kq3x9a1:7");
  CHECK(to_string(vv({{"n2.kq3xb00", 1, 0}, {"n1.kq3x9a1", 3, 0}})) ==
        "{n1.kq3x9a1:3, n2.kq3xb00:1}");
  CHECK(to_string(version_vector{}) == "{}");
}

}  // namespace kv::storage
