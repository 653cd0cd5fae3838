#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "caf/error.hpp"
#include "cluster/ring.hpp"
#include "messages/errc.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

using kv::cluster::member_spec;
using kv::cluster::ring;
using kv::cluster::ring_options;

namespace {

// Ring sizes, each with a Q that gives every member a few hundred partitions to hold.
struct sized_ring {
  uint32_t members;
  uint32_t partitions;
};
constexpr sized_ring scaled[] = {{3, 256}, {5, 1024}, {10, 4096}, {50, 16384}, {100, 65536}};

ring_options with_partitions(uint32_t partitions) {
  ring_options opts;
  opts.partitions = partitions;
  return opts;
}

// The ring of members that can be placed; the test stops if they cannot.
ring placed(std::vector<member_spec> members, ring_options opts) {
  auto r = ring::make(std::move(members), opts);
  INFO((r ? std::string{} : kv::message_of(r.error())));
  REQUIRE(static_cast<bool>(r));
  return std::move(*r);
}

std::string node(uint32_t i) {
  return "node-" + std::to_string(i);
}

// `count` members of weight 1 in one rack of one datacenter.
std::vector<member_spec> equal_members(uint32_t count) {
  std::vector<member_spec> members;
  for (uint32_t i = 0; i < count; ++i) members.push_back({node(i), "r1", "dc1", 1});
  return members;
}

// `per_rack[i]` members in rack "r<i>" of datacenter `dc`, appended to `members`.
void add_racks(std::vector<member_spec>& members, const std::string& dc,
               const std::vector<uint32_t>& per_rack) {
  for (size_t r = 0; r < per_rack.size(); ++r)
    for (uint32_t i = 0; i < per_rack[r]; ++i)
      members.push_back({dc + "-r" + std::to_string(r) + "-" + std::to_string(i),
                         "r" + std::to_string(r), dc, 1});
}

std::string fixed3(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", x);
  return text;
}

double max_over_mean(const std::vector<uint32_t>& counts) {
  double mean = std::accumulate(counts.begin(), counts.end(), 0.0) / counts.size();
  return *std::max_element(counts.begin(), counts.end()) / mean;
}

std::vector<std::string> ids_of(const ring& r, const std::vector<uint32_t>& indexes) {
  std::vector<std::string> ids;
  for (uint32_t i : indexes) ids.push_back(r.members()[i].id);
  return ids;
}

std::vector<std::string> member_ids(const ring& r) {
  std::vector<std::string> ids;
  for (const member_spec& m : r.members()) ids.push_back(m.id);
  return ids;
}

std::set<std::string> id_set(const ring& r, const std::vector<uint32_t>& indexes) {
  std::vector<std::string> ids = ids_of(r, indexes);
  return {ids.begin(), ids.end()};
}

size_t racks_spanned(const ring& r, const std::vector<uint32_t>& list) {
  std::set<std::pair<std::string, std::string>> racks;
  for (uint32_t i : list) racks.emplace(r.members()[i].datacenter, r.members()[i].rack);
  return racks.size();
}

size_t datacenters_spanned(const ring& r, const std::vector<uint32_t>& list) {
  std::set<std::string> dcs;
  for (uint32_t i : list) dcs.insert(r.members()[i].datacenter);
  return dcs.size();
}

void print_counts(const ring& r, uint32_t n) {
  std::vector<uint32_t> counts = r.replica_counts(n);
  for (size_t i = 0; i < counts.size(); ++i)
    std::cout << "  " << r.members()[i].id << " (" << r.members()[i].datacenter << "/"
              << r.members()[i].rack << "): " << counts[i] << "\n";
}

// Requires that `after` is `before` with `removed` replaced by one member that was not in it
// (or by none when no other member is left), or identical when `removed` was not in it.
// Returns whether it was in it.
bool require_replaced(std::vector<std::string> before, const std::vector<std::string>& after,
                      const std::string& removed, size_t members_left) {
  auto gone = std::find(before.begin(), before.end(), removed);
  if (gone == before.end()) {
    REQUIRE(after == before);
    return false;
  }
  before.erase(gone);
  for (const std::string& id : before)
    REQUIRE(std::find(after.begin(), after.end(), id) != after.end());
  REQUIRE(after.size() == std::min(before.size() + 1, members_left));
  return true;
}

// The placement computed the slow and obvious way, written independently of cluster/ring.cpp
// from the description in ring.hpp: every token, the whole walk, the greedy choice over it.
namespace reference {

void append_le32(std::string& bytes, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t position(const std::string& id, uint32_t index) {
  std::string bytes;
  append_le32(bytes, static_cast<uint32_t>(id.size()));
  bytes += id;
  append_le32(bytes, index);
  return XXH3_64bits(bytes.data(), bytes.size());
}

// Every member, in the order of its first token at or after `point`, wrapping around.
std::vector<uint32_t> walk(const std::vector<member_spec>& members, uint32_t tokens_per_weight,
                           uint64_t point) {
  std::vector<std::pair<uint64_t, uint32_t>> tokens;
  for (uint32_t m = 0; m < members.size(); ++m)
    for (uint32_t i = 0; i < members[m].weight * tokens_per_weight; ++i)
      tokens.emplace_back(position(members[m].id, i), m);
  std::sort(tokens.begin(), tokens.end());
  auto start = std::lower_bound(tokens.begin(), tokens.end(), std::pair{point, uint32_t{0}});
  std::rotate(tokens.begin(), start, tokens.end());
  std::vector<uint32_t> result;
  for (auto& [pos, m] : tokens)
    if (std::find(result.begin(), result.end(), m) == result.end()) result.push_back(m);
  return result;
}

// The greedy diversity choice over a whole walk.
std::vector<uint32_t> order(const std::vector<member_spec>& members, std::vector<uint32_t> walk) {
  std::set<std::string> dcs;
  std::set<std::pair<std::string, std::string>> racks;
  auto new_dc = [&](uint32_t m) { return dcs.count(members[m].datacenter) == 0; };
  auto new_rack = [&](uint32_t m) {
    return racks.count({members[m].datacenter, members[m].rack}) == 0;
  };
  auto any = [](uint32_t) { return true; };
  std::vector<uint32_t> result;
  while (!walk.empty()) {
    auto it = std::find_if(walk.begin(), walk.end(), new_dc);
    if (it == walk.end()) it = std::find_if(walk.begin(), walk.end(), new_rack);
    if (it == walk.end()) it = std::find_if(walk.begin(), walk.end(), any);
    dcs.insert(members[*it].datacenter);
    racks.emplace(members[*it].datacenter, members[*it].rack);
    result.push_back(*it);
    walk.erase(it);
  }
  return result;
}

std::vector<uint32_t> order_of(const ring& r, uint32_t partition) {
  uint32_t q = r.partitions();
  uint64_t spacing = q == 1 ? 0 : (uint64_t{1} << 63) / (q / 2);
  std::vector<uint32_t> full =
      order(r.members(), walk(r.members(), r.options().tokens_per_weight, partition * spacing));
  full.resize(std::min<size_t>(full.size(), r.options().depth));
  return full;
}

}  // namespace reference

// A small ring with random members, racks, datacenters, weights and options. Rack names repeat
// across datacenters, where they name different racks.
ring random_ring(std::mt19937& rng) {
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
  };
  uint32_t dcs = pick(1, 3), racks = pick(1, 3);
  std::vector<member_spec> members;
  for (uint32_t i = 0, n = pick(1, 10); i < n; ++i)
    members.push_back({"m" + std::to_string(i) + "-" + std::to_string(pick(0, 999)),
                       "r" + std::to_string(pick(1, racks)), "dc" + std::to_string(pick(1, dcs)),
                       pick(1, 3)});
  ring_options opts;
  opts.partitions = 1u << pick(0, 5);
  opts.tokens_per_weight = pick(1, 6);
  opts.depth = pick(1, 12);
  return placed(members, opts);
}

}  // namespace

TEST_CASE("no member holds more than 10% over the mean once each has a few hundred partitions",
          "[ring]") {
  for (auto [k, q] : scaled) {
    double scaled_ratio =
        max_over_mean(placed(equal_members(k), with_partitions(q)).replica_counts(3));
    double default_ratio =
        max_over_mean(placed(equal_members(k), with_partitions(256)).replica_counts(3));
    std::cout << "balance N=3 members=" << k << ": max/mean " << fixed3(scaled_ratio)
              << " at Q=" << q << " (" << 3 * q / k << " replicas per member), "
              << fixed3(default_ratio) << " at Q=256 (" << 3 * 256 / k << " per member)\n";
    CHECK(scaled_ratio <= 1.10);
  }
}

TEST_CASE("adding a member moves about its fair share of replicas, all of them to it", "[ring]") {
  constexpr sized_ring sizes[] = {{3, 256}, {5, 1024}, {10, 4096}, {50, 16384}, {1000, 65536}};
  for (auto [k, q] : sizes) {
    ring before = placed(equal_members(k), with_partitions(q));
    std::vector<member_spec> grown = equal_members(k);
    grown.push_back({"added", "r1", "dc1", 1});
    ring after = placed(grown, with_partitions(q));
    uint32_t moved = 0;
    for (uint32_t p = 0; p < q; ++p) {
      std::set<std::string> old_holders = id_set(before, before.preference_list(p, 3));
      for (const std::string& id : ids_of(after, after.preference_list(p, 3))) {
        if (old_holders.count(id) != 0) continue;
        ++moved;
        CHECK(id == "added");
      }
    }
    double ideal = 3.0 * q / (k + 1);
    std::cout << "movement adding 1 to " << k << " at Q=" << q << ": moved " << moved
              << " replicas, ideal " << fixed3(ideal) << ", moved/ideal " << fixed3(moved / ideal)
              << "\n";
    CHECK(moved <= 1.10 * ideal);
  }
}

TEST_CASE("removing a member replaces it where it was and changes nothing else", "[ring]") {
  for (auto [k, q] : scaled) {
    if (k == 100) continue;
    ring before = placed(equal_members(k), with_partitions(q));
    std::vector<member_spec> shrunk = equal_members(k);
    shrunk.erase(shrunk.begin() + 1);
    ring after = placed(shrunk, with_partitions(q));
    const std::string removed = node(1);
    uint32_t replaced = 0;
    for (uint32_t p = 0; p < q; ++p) {
      replaced += require_replaced(ids_of(before, before.preference_list(p, 3)),
                                   ids_of(after, after.preference_list(p, 3)), removed, k - 1);
      // In one rack the fallbacks close up too: the old order without the removed member.
      std::vector<std::string> old_order = ids_of(before, before.order(p));
      std::vector<std::string> new_order = ids_of(after, after.order(p));
      old_order.erase(std::remove(old_order.begin(), old_order.end(), removed), old_order.end());
      size_t common = std::min(old_order.size(), new_order.size());
      REQUIRE(std::equal(old_order.begin(), old_order.begin() + common, new_order.begin()));
    }
    std::cout << "removal of 1 from " << k << " at Q=" << q << ": " << replaced
              << " lists replaced it, " << q - replaced << " unchanged\n";
  }
}

TEST_CASE("across racks and datacenters too, removing a member only replaces it", "[ring]") {
  std::mt19937 rng{7};
  uint32_t lists = 0, replaced = 0;
  for (int i = 0; i < 300; ++i) {
    ring before = random_ring(rng);
    std::vector<member_spec> rest = before.members();
    if (rest.size() < 2) continue;
    auto gone = rest.begin() + std::uniform_int_distribution<size_t>{0, rest.size() - 1}(rng);
    const std::string removed = gone->id;
    rest.erase(gone);
    ring after = placed(rest, before.options());
    for (uint32_t p = 0; p < before.partitions(); ++p)
      for (uint32_t n = 1; n <= before.order(p).size(); ++n, ++lists)
        replaced +=
            require_replaced(ids_of(before, before.preference_list(p, n)),
                             ids_of(after, after.preference_list(p, n)), removed, rest.size());
  }
  std::cout << "removal on random rings with racks: " << lists << " lists, " << replaced
            << " replaced the removed member, the rest unchanged\n";
}

TEST_CASE("a member's share follows its weight, up to one replica per list", "[ring]") {
  std::vector<member_spec> members = equal_members(10);
  members[3].weight = 2;
  ring r = placed(members, with_partitions(4096));
  uint32_t heavy = *r.index_of(node(3));
  for (uint32_t n : {1u, 3u}) {
    std::vector<uint32_t> counts = r.replica_counts(n);
    double light_mean = (std::accumulate(counts.begin(), counts.end(), 0.0) - counts[heavy]) / 9;
    double ratio = counts[heavy] / light_mean;
    // A member is in a list at most once, so past the first place a heavy member's share falls
    // below its weight. The walk meets members like draws without replacement weighted by
    // tokens: the heavy member (2 of a total weight of 11) is missed by the first n draws with
    // probability (9/11)(8/10)... over n factors; the nine light members share the other places.
    double missed = 1;
    for (uint32_t d = 0; d < n; ++d) missed *= (9.0 - d) / (11.0 - d);
    double heavy_share = 1 - missed;
    double expected = heavy_share / ((n - heavy_share) / 9);
    std::cout << "weight 2 among 9 of weight 1, Q=4096, N=" << n << ": ratio " << fixed3(ratio)
              << " (expected " << fixed3(expected) << ")\n";
    CHECK(ratio == Approx(expected).epsilon(0.10));
  }
}

TEST_CASE("preference lists span as many racks and datacenters as the ring has", "[ring]") {
  std::vector<member_spec> members;
  size_t racks = 0, dcs = 1;
  SECTION("three racks of three") {
    add_racks(members, "dc1", {3, 3, 3});
    racks = 3;
  }
  SECTION("two racks of three") {
    add_racks(members, "dc1", {3, 3});
    racks = 2;
  }
  SECTION("two datacenters of two racks, with the same rack names") {
    add_racks(members, "dc1", {2, 2});
    add_racks(members, "dc2", {2, 2});
    racks = 3;
    dcs = 2;
  }
  SECTION("uneven racks of one, two and five") {
    add_racks(members, "dc1", {1, 2, 5});
    racks = 3;
  }
  ring r = placed(members, with_partitions(1024));
  for (uint32_t p = 0; p < r.partitions(); ++p) {
    std::vector<uint32_t> list = r.preference_list(p, 3);
    REQUIRE(racks_spanned(r, list) == racks);
    REQUIRE(datacenters_spanned(r, list) == dcs);
  }
  std::cout << "racks: " << members.size() << " members; every list of 3 spans racks=" << racks
            << " dcs=" << dcs << "; replicas per member at Q=1024:\n";
  print_counts(r, 3);
}

TEST_CASE("placement depends on the members, not on the order they are given in", "[ring]") {
  std::vector<member_spec> members;
  add_racks(members, "dc1", {3, 4});
  add_racks(members, "dc2", {2});
  ring a = placed(members, {});
  std::shuffle(members.begin(), members.end(), std::mt19937{7});
  ring b = placed(members, {});
  ring c = placed(members, {});
  REQUIRE(member_ids(a) == member_ids(b));
  for (uint32_t p = 0; p < a.partitions(); ++p) {
    REQUIRE(a.order(p) == b.order(p));
    REQUIRE(b.order(p) == c.order(p));
  }
}

TEST_CASE("placement is pinned: a change of hash or encoding shows here", "[ring]") {
  // These values are part of the data format: every node must compute them alike, and a change
  // moves every stored partition.
  ring r = placed({{"c", "r1", "dc1", 1}, {"a", "r1", "dc1", 1}, {"b", "r1", "dc1", 1}}, {});
  REQUIRE(member_ids(r) == std::vector<std::string>{"a", "b", "c"});
  CHECK(r.index_of("b") == 1u);
  CHECK(ids_of(r, r.order(0)) == std::vector<std::string>{"c", "b", "a"});
  CHECK(ids_of(r, r.order(1)) == std::vector<std::string>{"b", "a", "c"});
  CHECK(ids_of(r, r.order(255)) == std::vector<std::string>{"a", "c", "b"});
  // With ten members a changed hash would rarely leave five places in a row as they were.
  ring ten = placed(equal_members(10), {});
  CHECK(ids_of(ten, ten.preference_list(0, 5)) ==
        std::vector<std::string>{"node-4", "node-9", "node-7", "node-3", "node-2"});
  CHECK(ids_of(ten, ten.preference_list(100, 5)) ==
        std::vector<std::string>{"node-9", "node-8", "node-0", "node-3", "node-2"});
}

TEST_CASE("a ring of one member places every partition on it", "[ring]") {
  ring r = placed(equal_members(1), {});
  for (uint32_t p = 0; p < r.partitions(); ++p) REQUIRE(r.order(p) == std::vector<uint32_t>{0});
  CHECK(r.replica_counts(3) == std::vector<uint32_t>{256});
}

TEST_CASE("with fewer members than N the preference lists are shorter", "[ring]") {
  ring r = placed(equal_members(2), {});
  for (uint32_t p = 0; p < r.partitions(); ++p) {
    std::vector<uint32_t> list = r.preference_list(p, 3);
    REQUIRE(list.size() == 2);
    REQUIRE(list[0] != list[1]);
  }
  CHECK(r.replica_counts(3) == std::vector<uint32_t>{256, 256});
}

TEST_CASE("the preference order keeps depth members, the preference list first", "[ring]") {
  ring_options opts;
  opts.depth = 4;
  ring r = placed(equal_members(10), opts);
  for (uint32_t p = 0; p < r.partitions(); ++p) {
    const std::vector<uint32_t>& order = r.order(p);
    REQUIRE(order.size() == 4);
    REQUIRE(std::set<uint32_t>(order.begin(), order.end()).size() == 4);
    REQUIRE(r.preference_list(p, 3) == std::vector<uint32_t>(order.begin(), order.begin() + 3));
  }
}

TEST_CASE("a ring of one partition places it from the start of the ring", "[ring]") {
  ring r = placed(equal_members(5), with_partitions(1));
  REQUIRE(r.order(0).size() == 5);
  CHECK(r.order(0) == reference::order_of(r, 0));
  std::vector<uint32_t> counts = r.replica_counts(3);
  CHECK(std::accumulate(counts.begin(), counts.end(), 0u) == 3);
}

TEST_CASE("members are found by id", "[ring]") {
  ring r = placed(equal_members(12), {});
  for (uint32_t i = 0; i < 12; ++i) CHECK(r.members()[*r.index_of(node(i))].id == node(i));
  CHECK_FALSE(r.index_of("node-12").has_value());
  CHECK_FALSE(r.index_of("").has_value());
}

TEST_CASE("a ring without members places nothing", "[ring]") {
  ring r = placed({}, {});
  for (uint32_t p = 0; p < r.partitions(); ++p) REQUIRE(r.order(p).empty());
  CHECK(r.preference_list(0, 3).empty());
  CHECK(r.replica_counts(3).empty());
  CHECK_FALSE(r.index_of("node-0").has_value());
}

TEST_CASE("the walk stops early yet gives the orders a whole walk gives", "[ring]") {
  std::mt19937 rng{20240601};
  for (int i = 0; i < 2000; ++i) {
    ring r = random_ring(rng);
    for (uint32_t p = 0; p < r.partitions(); ++p) REQUIRE(r.order(p) == reference::order_of(r, p));
  }
}

TEST_CASE("a large ring spreads every partition over its racks (construction timed)", "[ring]") {
  std::vector<member_spec> members;
  add_racks(members, "dc1", {34, 34, 33});
  auto start = std::chrono::steady_clock::now();
  ring r = placed(members, with_partitions(65536));
  std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  std::cout << "construction: 101 members x 1024 tokens, Q=65536, depth 16: "
            << fixed3(took.count()) << " ms\n";
  for (uint32_t p = 0; p < r.partitions(); ++p) {
    REQUIRE(r.order(p).size() == 16);
    REQUIRE(racks_spanned(r, r.preference_list(p, 3)) == 3);
  }
}

TEST_CASE("the ring factory names what it cannot place instead of asserting", "[ring]") {
  auto error_of = [](std::vector<member_spec> members, ring_options opts) {
    auto r = ring::make(std::move(members), opts);
    REQUIRE_FALSE(r);
    CHECK(kv::code_of(r.error()) == kv::errc::invalid_argument);
    return kv::message_of(r.error());
  };
  auto one = [](uint32_t weight) { return std::vector<member_spec>{{"a", "r1", "dc1", weight}}; };
  for (uint32_t q : {0u, 3u, 100u, 1u << 17})
    CHECK(error_of(one(1), with_partitions(q)) ==
          "partitions must be a power of two from 1 to 65536, not " + std::to_string(q));
  ring_options opts;
  opts.tokens_per_weight = 0;
  CHECK(error_of(one(1), opts) == "tokens_per_weight must be at least 1");
  opts = {};
  opts.depth = 0;
  CHECK(error_of(one(1), opts) == "depth must be at least 1");
  CHECK(error_of({{"a", "r1", "dc1", 1}, {"", "r1", "dc1", 1}}, {}) == "a member has an empty id");
  CHECK(error_of({{"a", "r1", "dc1", 1}, {"b", "r1", "dc1", 1}, {"a", "r2", "dc1", 2}}, {}) ==
        "member id 'a' appears twice");
  for (uint32_t w : {0u, 1001u, 4194303u, 1u << 22, UINT32_MAX})
    CHECK(error_of(one(w), {}) ==
          "member 'a' has weight " + std::to_string(w) + ", outside 1..1000");
  opts = {};
  opts.tokens_per_weight = 1u << 20;  // a thousand million tokens for one member
  CHECK(error_of(one(1000), opts) ==
        "member 'a' would hold 1048576000 tokens (weight x tokens_per_weight); a ring holds at "
        "most 8388608");
  CHECK(error_of({{std::string(100, 'x'), "r1", "dc1", 1001}}, {}) ==
        "member '" + std::string(64, 'x') + "...' has weight 1001, outside 1..1000");
}

TEST_CASE("a ring holds at most 2^23 tokens, whoever holds them", "[ring]") {
  std::vector<member_spec> members;
  for (uint32_t i = 0; i < 8; ++i) members.push_back({node(i), "r1", "dc1", 1000});
  ring_options opts;
  opts.tokens_per_weight = 1024;
  CHECK_FALSE(kv::cluster::check_placeable(members, opts));  // 8,192,000 tokens
  opts.tokens_per_weight = 1048;
  CHECK_FALSE(kv::cluster::check_placeable(members, opts));  // 8,384,000
  opts.tokens_per_weight = 1049;
  CHECK(kv::message_of(kv::cluster::check_placeable(members, opts)) ==
        "the members would hold more than 8388608 tokens together (weight x tokens_per_weight), "
        "the most a ring holds");
  members.resize(4096, {"", "r1", "dc1", 1000});
  for (uint32_t i = 8; i < members.size(); ++i) members[i].id = node(i);
  opts.tokens_per_weight = 1024;  // 4096 members of weight 1000 would ask for 64 GiB
  CHECK(kv::cluster::check_placeable(members, opts));
}
