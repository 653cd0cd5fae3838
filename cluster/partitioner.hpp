// cluster/partitioner.hpp
// Maps (namespace, key) to one of Q fixed, equal partitions:
//   partition = hash64(ns, key) >> (64 - log2 Q)
// Q is a power of two fixed for the life of the cluster's data. Pure logic.
#pragma once

#include <cstdint>
#include <string_view>

namespace kv::cluster {

// True for 1, 2, 4, ... 65536.
bool valid_partition_count(uint32_t partitions);

// XXH3 of the length-prefixed namespace followed by the key: unambiguous, and the same on
// every node and every build.
uint64_t key_hash(std::string_view ns, std::string_view key);

class partitioner {
 public:
  // Precondition: valid_partition_count(partitions).
  explicit partitioner(uint32_t partitions);

  uint32_t partitions() const { return partitions_; }
  uint32_t of(std::string_view ns, std::string_view key) const;

 private:
  uint32_t partitions_;
  uint32_t shift_;  // 64 - log2(partitions); 64 when there is one partition
};

}  // namespace kv::cluster
