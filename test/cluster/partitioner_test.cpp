#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "cluster/partitioner.hpp"

using kv::cluster::partitioner;

TEST_CASE("partition counts must be powers of two up to 65536", "[partitioner]") {
  CHECK(kv::cluster::valid_partition_count(1));
  CHECK(kv::cluster::valid_partition_count(256));
  CHECK(kv::cluster::valid_partition_count(65536));
  CHECK_FALSE(kv::cluster::valid_partition_count(0));
  CHECK_FALSE(kv::cluster::valid_partition_count(100));
  CHECK_FALSE(kv::cluster::valid_partition_count(131072));
}

TEST_CASE("a key always maps to the same partition, in range", "[partitioner]") {
  partitioner p{256};
  for (int i = 0; i < 1000; ++i) {
    auto key = "key-" + std::to_string(i);
    auto part = p.of("default", key);
    CHECK(part < 256);
    CHECK(part == p.of("default", key));
  }
}

TEST_CASE("a single partition holds every key", "[partitioner]") {
  partitioner p{1};
  CHECK(p.of("default", "a") == 0);
  CHECK(p.of("other", "zzz") == 0);
}

TEST_CASE("the namespace is part of the hash, without ambiguity", "[partitioner]") {
  // ("ab", "c") and ("a", "bc") concatenate to the same bytes but are different keys.
  CHECK(kv::cluster::key_hash("ab", "c") != kv::cluster::key_hash("a", "bc"));
  CHECK(kv::cluster::key_hash("default", "k") != kv::cluster::key_hash("other", "k"));
}

TEST_CASE("keys spread evenly over partitions", "[partitioner]") {
  partitioner p{64};
  std::map<uint32_t, int> counts;
  const int keys = 64000;
  for (int i = 0; i < keys; ++i) ++counts[p.of("default", "user:" + std::to_string(i))];
  REQUIRE(counts.size() == 64);
  for (auto& [part, n] : counts) {
    CHECK(n > 1000 * 0.85);
    CHECK(n < 1000 * 1.15);
  }
}

TEST_CASE("the hash is stable across builds and machines", "[partitioner]") {
  // Every node must place a key identically, whatever build it runs: these values are part of
  // the data format. Changing them means every stored partition moves.
  partitioner p{256};
  CHECK(kv::cluster::key_hash("default", "user:1") == 0x2a987c2cb5c1c761ULL);
  CHECK(p.of("default", "user:1") == 42);
  CHECK(p.of("default", "user:2") == 208);
  CHECK(p.of("sessions", "abc") == 244);
}
