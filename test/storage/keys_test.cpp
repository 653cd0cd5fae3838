#include "storage/keys.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

namespace kv::storage {
namespace {

const std::string zeros(3, '\0');
const std::string ones(3, '\xff');
const std::string longest_ns(max_namespace_bytes, '\xff');

// Namespaces and keys at the edges of byte order.
const std::vector<std::string> namespaces = {"", "default", zeros, ones, longest_ns};
const std::vector<std::string> user_keys = {"", "k", zeros, ones, std::string(1000, '\xff')};

std::vector<std::string> keys_of(uint32_t partition) {
  std::vector<std::string> result;
  for (const auto& ns : namespaces)
    for (const auto& key : user_keys) result.push_back(data_key(partition, ns, key));
  return result;
}

}  // namespace

TEST_CASE("a data key splits back into its partition, namespace and key", "[keys]") {
  for (uint32_t partition : {0u, 1u, 255u, 256u, 0xABCDu, max_partitions - 1}) {
    for (const auto& ns : namespaces) {
      for (const auto& key : user_keys) {
        auto stored = data_key(partition, ns, key);
        auto parts = parse_data_key(stored);
        REQUIRE(parts);
        CHECK(parts->partition == partition);
        CHECK(parts->ns == ns);
        CHECK(parts->key == key);
      }
    }
  }
}

TEST_CASE("a data key is laid out as partition, namespace length, namespace, key", "[keys]") {
  CHECK(data_key(0x0102, "ns", "key") == std::string("\x01\x02\x02nskey", 8));
}

TEST_CASE("bytes too short for their namespace are not a data key", "[keys]") {
  CHECK_FALSE(parse_data_key(""));
  CHECK_FALSE(parse_data_key(std::string("\x00\x01", 2)));
  CHECK_FALSE(parse_data_key(std::string("\x00\x01\x03no", 5)));
  CHECK(parse_data_key(std::string("\x00\x01\x02ns", 5)));
}

TEST_CASE("every key of a partition falls inside its range and outside its neighbours'", "[keys]") {
  for (uint32_t p : {0u, 1u, 0x00FFu, 0x0100u, 0x7FFFu, max_partitions - 2, max_partitions - 1}) {
    INFO("partition " << p);
    auto range = partition_range(p);
    for (const auto& key : keys_of(p)) {
      CHECK(range.contains(key));
      if (p > 0) CHECK_FALSE(partition_range(p - 1).contains(key));
      if (p + 1 < max_partitions) CHECK_FALSE(partition_range(p + 1).contains(key));
    }
  }
}

TEST_CASE("the last partition's range is unbounded above, the others' are not", "[keys]") {
  auto last = partition_range(max_partitions - 1);
  CHECK(last.first == "\xff\xff");
  CHECK(last.last.empty());
  // No finite bound would do: this key sorts after "\xff\xff\xff", "\xff\xff\xff\xff", ...
  CHECK(last.contains(data_key(max_partitions - 1, longest_ns, std::string(4000, '\xff'))));
  CHECK(partition_range(0x0102).first == std::string("\x01\x02"));
  CHECK(partition_range(0x0102).last == std::string("\x01\x03"));
  CHECK(partition_range(0x01FF).last == std::string("\x02\x00", 2));
}

TEST_CASE("inside a partition, keys are grouped by namespace and sorted by key", "[keys]") {
  std::vector<std::string> sorted = {
      data_key(7, "", "a"),   data_key(7, "", "b"),     data_key(7, "z", ""),
      data_key(7, "z", "a"),  data_key(7, "z", "\xff"), data_key(7, "ab", "a"),
      data_key(7, "ab", "b"), data_key(7, "abc", ""),   data_key(7, longest_ns, zeros),
  };
  CHECK(std::is_sorted(sorted.begin(), sorted.end()));
  // The namespace length comes first, so "a" + "bc" never interleaves with "ab" + "c".
  CHECK(data_key(7, "a", "bc") != data_key(7, "ab", "c"));
  CHECK(data_key(7, "a", "\xff\xff") < data_key(7, "ab", ""));
}

}  // namespace kv::storage
