#include <catch2/catch.hpp>

#include <random>

#include "storage/gc.hpp"

using namespace kv::storage;

namespace {

sibling version(uint64_t counter, int64_t ts, bool deleted = false) {
  return sibling{dot{"a", counter}, deleted ? "" : "v" + std::to_string(counter), deleted, ts};
}

object of(std::vector<sibling> siblings) {
  return object::from_parts(std::move(siblings), version_vector{});
}

}  // namespace

TEST_CASE("a version expires exactly when its TTL has passed and never without one", "[gc]") {
  auto s = version(1, 1000);
  CHECK_FALSE(expired(s, 0, 1'000'000'000));
  CHECK_FALSE(expired(s, 500, 1499));
  CHECK(expired(s, 500, 1500));
  auto obj = of({version(1, 1000), version(2, 2000)});
  CHECK(visible(obj, 1500, 2499).size() == 2);
  CHECK(visible(obj, 1500, 2500).size() == 1);
  CHECK(visible(obj, 1500, 2500).front().id.counter == 2);
  CHECK(visible(obj, 1500, 3500).empty());
  CHECK(visible(obj, 0, 3500).size() == 2);
}

TEST_CASE("only tombstones past grace are candidates and expired objects go alone", "[gc]") {
  gc_rules rules{10'000, 5'000, 0};
  SECTION("a live value is kept however old") {
    CHECK(judge(of({version(1, 0)}), rules) == gc_verdict::keep);
  }
  SECTION("a tombstone within grace is kept; past grace it is a candidate") {
    CHECK(judge(of({version(1, 5'001, true)}), rules) == gc_verdict::keep);
    CHECK(judge(of({version(1, 5'000, true)}), rules) == gc_verdict::tombstone);
  }
  SECTION("the newest tombstone decides") {
    CHECK(judge(of({version(1, 0, true), version(2, 6'000, true)}), rules) == gc_verdict::keep);
  }
  SECTION("a tombstone beside a live sibling is kept") {
    CHECK(judge(of({version(1, 0, true), version(2, 0)}), rules) == gc_verdict::keep);
  }
  SECTION("with a TTL, an object whose every version expired goes, one live version keeps it") {
    rules.ttl_ms = 3'000;
    CHECK(judge(of({version(1, 6'000), version(2, 7'000)}), rules) == gc_verdict::expired);
    CHECK(judge(of({version(1, 6'000), version(2, 7'001)}), rules) == gc_verdict::keep);
  }
  SECTION("an empty object is kept") {
    CHECK(judge(object{}, rules) == gc_verdict::keep);
  }
}

TEST_CASE("hint bounds drop the too old then the oldest until the size bound holds", "[gc]") {
  hint_limits limits{1000, 300};
  SECTION("within bounds nothing goes") {
    auto d = hints_to_drop({{900, 100}, {950, 100}, {990, 100}}, limits, 1000);
    CHECK(d.too_old.empty());
    CHECK(d.too_many.empty());
  }
  SECTION("age: exactly the hints at or past the bound") {
    auto d = hints_to_drop({{0, 10}, {1, 10}, {2, 10}}, limits, 1001);
    CHECK(d.too_old == std::vector<size_t>{0, 1});
    CHECK(d.too_many.empty());
  }
  SECTION("size: the oldest of the rest, as few as needed, whatever the input order") {
    auto d =
        hints_to_drop({{500, 100}, {300, 100}, {400, 100}, {600, 100}, {200, 100}}, limits, 1000);
    CHECK(d.too_old.empty());
    CHECK(d.too_many == std::vector<size_t>{4, 1});
  }
  SECTION("what is too old does not count toward the size") {
    auto d = hints_to_drop({{0, 1000}, {500, 300}}, limits, 1000);
    CHECK(d.too_old == std::vector<size_t>{0});
    CHECK(d.too_many.empty());
  }
}

TEST_CASE(
    "hint bounds hold for random sets: the rest fits and every kept hint is newer than "
    "every hint dropped for size",
    "[gc]") {
  std::mt19937_64 rng{7};
  for (int round = 0; round < 500; ++round) {
    std::vector<hint_info> hints(rng() % 50);
    for (auto& h : hints) h = {static_cast<int64_t>(rng() % 10'000), 1 + rng() % 500};
    hint_limits limits{static_cast<int64_t>(1 + rng() % 10'000), rng() % 5'000};
    int64_t now = 10'000;
    auto d = hints_to_drop(hints, limits, now);
    std::vector<bool> dropped(hints.size());
    for (auto i : d.too_old) {
      REQUIRE(hints[i].created_ms + limits.max_age_ms <= now);
      dropped[i] = true;
    }
    int64_t newest_dropped = INT64_MIN;
    for (auto i : d.too_many) {
      REQUIRE_FALSE(dropped[i]);
      dropped[i] = true;
      newest_dropped = std::max(newest_dropped, hints[i].created_ms);
    }
    uint64_t kept_bytes = 0;
    for (size_t i = 0; i < hints.size(); ++i) {
      if (dropped[i]) continue;
      REQUIRE(hints[i].created_ms + limits.max_age_ms > now);
      REQUIRE(hints[i].created_ms >= newest_dropped);
      kept_bytes += hints[i].bytes;
    }
    REQUIRE(kept_bytes <= limits.max_bytes);
    // As few as needed: keeping the newest one dropped for size would break the bound.
    if (!d.too_many.empty())
      REQUIRE(kept_bytes + hints[d.too_many.back()].bytes > limits.max_bytes);
  }
}
