// storage/keys.hpp
// Layout of keys in the data column family:
//   [partition: u16 big-endian][namespace length: u8][namespace][user key]
// so one partition is one contiguous key range (streaming, anti-entropy and handoff scan a
// partition with one iterator), sorted by namespace and then key inside it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kv::storage {

constexpr uint32_t max_partitions = 1u << 16;
constexpr size_t max_namespace_bytes = 255;

// Preconditions: partition < max_partitions, ns.size() <= max_namespace_bytes.
std::string data_key(uint32_t partition, std::string_view ns, std::string_view key);

struct key_parts {
  uint32_t partition = 0;
  std::string_view ns;
  std::string_view key;
};

// Splits a data key; nullopt when it is not one. The views point into `stored`.
std::optional<key_parts> parse_data_key(std::string_view stored);

// The half-open range [first, last) that holds exactly the keys of `partition`.
struct key_range {
  std::string first;
  std::string last;
};
key_range partition_range(uint32_t partition);

}  // namespace kv::storage
