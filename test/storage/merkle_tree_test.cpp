#include <catch2/catch.hpp>

#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "storage/merkle_tree.hpp"

using kv::storage::merkle_tree;

namespace {

using contents = std::map<std::string, std::string>;  // key -> stored object bytes

merkle_tree built(const contents& data, uint32_t leaves) {
  merkle_tree t{leaves};
  for (auto& [key, object] : data) t.update(key, 0, merkle_tree::digest(key, object));
  return t;
}

// Applies a put (or, with nullopt, a delete) to `data` and keeps `t` current, as a replica does.
void apply(contents& data, merkle_tree& t, const std::string& key,
           const std::optional<std::string>& object) {
  auto i = data.find(key);
  uint64_t before = i == data.end() ? 0 : merkle_tree::digest(key, i->second);
  uint64_t after = object ? merkle_tree::digest(key, *object) : 0;
  t.update(key, before, after);
  if (object)
    data[key] = *object;
  else if (i != data.end())
    data.erase(i);
}

std::function<uint64_t(uint32_t, uint32_t)> remote(const merkle_tree& t) {
  return [&t](uint32_t level, uint32_t index) { return t.node(level, index); };
}

}  // namespace

TEST_CASE("a tree kept current write by write equals one rebuilt over the same data", "[merkle]") {
  std::mt19937 rng{1};
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>{lo, hi}(rng); };
  for (uint32_t leaves : {1u, 2u, 64u, 1024u}) {
    contents data;
    merkle_tree t{leaves};
    for (int op = 0; op < 20000; ++op) {
      auto key = "k" + std::to_string(pick(0, 2000));
      if (pick(0, 3) == 0)
        apply(data, t, key, std::nullopt);
      else
        apply(data, t, key, "v" + std::to_string(pick(0, 1 << 20)));
    }
    REQUIRE(t == built(data, leaves));
    // Deleting everything leaves the empty tree.
    auto keys = data;
    for (auto& [key, object] : keys) apply(data, t, key, std::nullopt);
    CHECK(t == merkle_tree{leaves});
    CHECK(t.root() == 0);
  }
}

TEST_CASE("the order of writes does not matter, their outcome does", "[merkle]") {
  contents a{{"x", "1"}, {"y", "2"}, {"z", "3"}};
  merkle_tree forward{256}, backward{256};
  for (auto i = a.begin(); i != a.end(); ++i)
    forward.update(i->first, 0, merkle_tree::digest(i->first, i->second));
  for (auto i = a.rbegin(); i != a.rend(); ++i)
    backward.update(i->first, 0, merkle_tree::digest(i->first, i->second));
  CHECK(forward == backward);
  auto other = a;
  other["y"] = "2'";
  CHECK(built(other, 256).root() != forward.root());
  CHECK(merkle_tree::digest("ab", "c") != merkle_tree::digest("a", "bc"));
}

TEST_CASE("the diff finds exactly the buckets that differ, descending only where they do",
          "[merkle]") {
  std::mt19937 rng{2};
  contents base;
  for (int i = 0; i < 100000; ++i) base["key" + std::to_string(i)] = "v" + std::to_string(i);
  auto base_tree = built(base, 1024);
  for (int k : {0, 1, 10, 100}) {
    auto changed = base;
    std::set<uint32_t> expected;
    std::set<std::string> touched;
    while (static_cast<int>(touched.size()) < k) {
      auto key = "key" + std::to_string(std::uniform_int_distribution<int>{0, 99999}(rng));
      if (!touched.insert(key).second) continue;
      changed[key] += "'";  // a newer version on one side
      expected.insert(base_tree.bucket_of(key));
    }
    auto changed_tree = built(changed, 1024);
    auto d = compare(base_tree, remote(changed_tree));
    CHECK(std::set<uint32_t>(d.buckets.begin(), d.buckets.end()) == expected);
    size_t keys_to_sync = 0;
    for (auto& [key, object] : base)
      if (expected.count(base_tree.bucket_of(key))) ++keys_to_sync;
    // Each differing bucket costs at most its path: 2 hashes per level, plus the root.
    CHECK(d.hashes_compared <= 1 + 2ull * base_tree.depth() * expected.size());
    CHECK(keys_to_sync <= 200u * static_cast<size_t>(k));  // ~98 keys per bucket, not 100,000
    std::cout << "merkle diff, 100000 keys in 1024 buckets, " << k
              << " keys differing: " << d.buckets.size() << " buckets, " << d.hashes_compared
              << " hashes in " << d.rounds << " rounds, " << keys_to_sync << " keys to sync\n";
  }
}

TEST_CASE("a key missing on one side shows in its bucket", "[merkle]") {
  contents a{{"x", "1"}, {"y", "2"}}, b{{"x", "1"}};
  auto ta = built(a, 16), tb = built(b, 16);
  auto d = compare(ta, remote(tb));
  CHECK(d.buckets == std::vector<uint32_t>{ta.bucket_of("y")});
  CHECK(compare(ta, remote(ta)).buckets.empty());
  CHECK(compare(ta, remote(ta)).hashes_compared == 1);
}
