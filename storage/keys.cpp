#include "storage/keys.hpp"

#include <cassert>

namespace kv::storage {
namespace {

constexpr size_t partition_bytes = 2;
constexpr size_t header_bytes = partition_bytes + 1;  // partition, namespace length

// Big-endian, so that byte order is partition order.
std::string partition_prefix(uint32_t partition) {
  return {static_cast<char>(partition >> 8), static_cast<char>(partition & 0xFF)};
}

uint8_t byte_at(std::string_view s, size_t i) {
  return static_cast<uint8_t>(s[i]);
}

}  // namespace

std::string data_key(uint32_t partition, std::string_view ns, std::string_view key) {
  assert(partition < max_partitions);
  assert(ns.size() <= max_namespace_bytes);
  std::string result = partition_prefix(partition);
  result.reserve(header_bytes + ns.size() + key.size());
  result.push_back(static_cast<char>(ns.size()));
  result.append(ns).append(key);
  return result;
}

std::optional<key_parts> parse_data_key(std::string_view stored) {
  if (stored.size() < header_bytes) return std::nullopt;
  size_t ns_size = byte_at(stored, partition_bytes);
  if (stored.size() < header_bytes + ns_size) return std::nullopt;
  key_parts parts;
  parts.partition = uint32_t{byte_at(stored, 0)} << 8 | byte_at(stored, 1);
  parts.ns = stored.substr(header_bytes, ns_size);
  parts.key = stored.substr(header_bytes + ns_size);
  return parts;
}

key_range partition_range(uint32_t partition) {
  assert(partition < max_partitions);
  bool last = partition + 1 == max_partitions;
  return {partition_prefix(partition), last ? std::string{} : partition_prefix(partition + 1)};
}

}  // namespace kv::storage
