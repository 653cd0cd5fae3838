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

namespace {

void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

uint64_t get_u64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = v << 8 | byte_at(s, i);
  return v;
}

std::string owner_prefix(std::string_view owner) {
  assert(!owner.empty() && owner.size() <= 255);
  std::string result(1, static_cast<char>(owner.size()));
  result.append(owner);
  return result;
}

}  // namespace

std::string hint_key(std::string_view owner, int64_t created_ms, uint64_t unique) {
  assert(created_ms >= 0);
  auto result = owner_prefix(owner);
  put_u64(result, static_cast<uint64_t>(created_ms));
  put_u64(result, unique);
  return result;
}

std::optional<hint_key_parts> parse_hint_key(std::string_view stored) {
  if (stored.empty()) return std::nullopt;
  size_t owner_size = byte_at(stored, 0);
  if (owner_size == 0 || stored.size() != 1 + owner_size + 16) return std::nullopt;
  hint_key_parts parts;
  parts.owner = stored.substr(1, owner_size);
  parts.created_ms = static_cast<int64_t>(get_u64(stored.substr(1 + owner_size)));
  return parts;
}

key_range hint_range(std::string_view owner) {
  auto first = owner_prefix(owner);
  auto last = first;
  // The prefix ends in the owner's last byte; the next owner of this length and bytes would
  // start at the prefix "+1", which is only a valid bound if no 0xFF carries: owners of
  // member ids are printable, so the last byte is below 0xFF.
  assert(static_cast<uint8_t>(last.back()) < 0xFF);
  last.back() = static_cast<char>(static_cast<uint8_t>(last.back()) + 1);
  return {std::move(first), std::move(last)};
}

}  // namespace kv::storage
