// storage/merkle_tree.hpp
// The hash tree anti-entropy compares, one per partition. Pure logic: no storage, no actors.
//
// Two replicas of a partition should hold the same objects. Comparing them key by key costs
// the whole partition on the wire; comparing one hash costs nothing but says only "equal" or
// "not". A Merkle tree sits between: the keys fall into `leaves` buckets by a hash of the key,
// each bucket has a hash of its contents, and each inner node a hash of the nodes below it.
// Replicas exchange the root; where it differs they exchange its two children, and descend
// only where those differ, down to the buckets that differ, and then sync only the keys in
// those buckets. k differing keys cost O(k log leaves) hashes and O(k) buckets of keys.
//
// Every node's hash is the XOR of the digests of the keys below it (a digest is a 64-bit hash
// of the key and its stored object). XOR makes the tree incremental: a write changes one key's
// digest from `old` to `new`, and every node on the path from its bucket to the root changes by
// `old ^ new`, so the tree stays current on every write in O(log leaves), with no rebuild. (A
// set hash by XOR can be fooled by crafted inputs; these are digests of our own objects, where
// a false "equal" needs a 64-bit coincidence.) A node's hash is a pure function of the keys
// and objects below it, so a tree kept up to date write by write equals one rebuilt from
// scratch over the same data, which the tests check.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace kv::storage {

class merkle_tree {
 public:
  // `leaves` buckets, a power of two (1 to 2^20).
  explicit merkle_tree(uint32_t leaves = 1024);

  uint32_t leaves() const { return leaves_; }
  uint32_t depth() const { return depth_; }  // levels below the root: log2(leaves)

  // The digest of a key holding `object` (its stored bytes); never 0, which stands for "absent".
  static uint64_t digest(std::string_view key, std::string_view object);

  // The bucket a key falls in.
  uint32_t bucket_of(std::string_view key) const;

  // A key's digest changed from `before` to `after` (0: absent before / after).
  void update(std::string_view key, uint64_t before, uint64_t after);

  uint64_t root() const { return nodes_[1]; }

  // Node `index` of `level` (level 0 is the root; level depth() holds the buckets).
  uint64_t node(uint32_t level, uint32_t index) const;

  friend bool operator==(const merkle_tree& a, const merkle_tree& b) {
    return a.nodes_ == b.nodes_;
  }
  friend bool operator!=(const merkle_tree& a, const merkle_tree& b) { return !(a == b); }

 private:
  uint32_t leaves_;
  uint32_t depth_;
  std::vector<uint64_t> nodes_;  // heap order: root at 1, children of i at 2i and 2i+1
};

// What comparing two trees cost, and found.
struct merkle_diff {
  std::vector<uint32_t> buckets;  // the buckets whose hashes differ, ascending
  uint64_t hashes_compared = 0;   // node hashes the two sides exchanged
  uint32_t rounds = 0;            // levels descended (round trips between replicas)
};

// Compares the trees the way two replicas do over the network: the root, then the children of
// the nodes that differ, level by level. `remote(level, index)` gives the other side's node.
// Precondition: both have the same number of leaves.
merkle_diff compare(const merkle_tree& local,
                    const std::function<uint64_t(uint32_t level, uint32_t index)>& remote);

}  // namespace kv::storage
