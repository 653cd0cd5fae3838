// storage/keys.hpp
// Layout of keys in the data column family:
//   [partition: u16 big-endian][namespace length: u8][namespace][user key]
// so one partition is one contiguous key range (streaming, anti-entropy and handoff scan a
// partition with one iterator). Inside it, each namespace is one contiguous run sorted by key;
// the runs are ordered by namespace length, then namespace bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kv::storage {

constexpr uint32_t max_partitions = 1u << 16;
constexpr size_t max_namespace_bytes = 255;
// The largest user key any configuration allows (max_key_bytes); replicas refuse longer ones.
constexpr size_t max_user_key_bytes = size_t{1} << 20;

// Preconditions: partition < max_partitions, ns.size() <= max_namespace_bytes.
std::string data_key(uint32_t partition, std::string_view ns, std::string_view key);

struct key_parts {
  uint32_t partition = 0;
  std::string_view ns;
  std::string_view key;
};

// Splits a data key; nullopt when it is not one. The views point into `stored`.
std::optional<key_parts> parse_data_key(std::string_view stored);

// The half-open range [first, last) that holds exactly the keys of `partition`. The last
// partition has no finite upper bound (a user key may be any number of 0xFF bytes), so an
// empty `last` means "unbounded"; it can mean nothing else, since no key sorts before "".
struct key_range {
  std::string first;
  std::string last;

  bool contains(std::string_view key) const { return key >= first && (last.empty() || key < last); }
};
key_range partition_range(uint32_t partition);

// Layout of keys in the hints column family:
//   [owner length: u8][owner][created ms: u64 big-endian][unique: u64 big-endian]
// so the hints held for one member are one contiguous range, oldest first.
// Preconditions: 1 <= owner.size() <= 255, created_ms >= 0.
std::string hint_key(std::string_view owner, int64_t created_ms, uint64_t unique);

struct hint_key_parts {
  std::string_view owner;
  int64_t created_ms = 0;
};

// nullopt when `stored` is not a hint key. The view points into `stored`.
std::optional<hint_key_parts> parse_hint_key(std::string_view stored);

// The range of every hint held for `owner`.
key_range hint_range(std::string_view owner);

}  // namespace kv::storage
