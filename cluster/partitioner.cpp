#include "cluster/partitioner.hpp"

#include <cassert>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace kv::cluster {

bool valid_partition_count(uint32_t partitions) {
  return partitions >= 1 && partitions <= (1u << 16) && (partitions & (partitions - 1)) == 0;
}

uint64_t key_hash(std::string_view ns, std::string_view key) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  auto ns_len = static_cast<uint8_t>(ns.size());
  XXH3_64bits_update(&state, &ns_len, 1);
  XXH3_64bits_update(&state, ns.data(), ns.size());
  XXH3_64bits_update(&state, key.data(), key.size());
  return XXH3_64bits_digest(&state);
}

partitioner::partitioner(uint32_t partitions) : partitions_(partitions), shift_(64) {
  assert(valid_partition_count(partitions));
  for (uint32_t q = partitions; q > 1; q >>= 1) --shift_;
}

uint32_t partitioner::of(std::string_view ns, std::string_view key) const {
  if (shift_ == 64) return 0;
  return static_cast<uint32_t>(key_hash(ns, key) >> shift_);
}

}  // namespace kv::cluster
