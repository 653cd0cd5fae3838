// cluster/ring.hpp
// Placement: which nodes hold each of the Q partitions. Pure logic, a deterministic function of
// the member list (ids, racks, datacenters, weights) and the options: every node that knows the
// same members computes the same placement, so only membership has to converge.
//
// Each member gets weight x tokens_per_weight tokens on a 64-bit ring, at hash(member id, token
// index). Partition p sits at the evenly spaced point p * 2^64 / Q. The walk of p goes clockwise
// from that point and meets each member at its first token. The preference order of p is that
// walk made diverse: repeatedly take the first member not yet taken that adds a datacenter not
// yet used, else a rack not yet used, else any. The first n of the order are the preference
// list for replication factor n; the members after them are the fallbacks, in order.
//
// Consequences, checked by test/cluster/ring_test.cpp with printed figures:
//  - removing a member changes only the preference lists it was in, by replacing it;
//  - adding a member moves about its fair share of replicas to it, and nothing else;
//  - a member's share of first replicas follows its weight (at N > 1 a heavier member's share
//    grows less than its weight: it appears at most once in a list);
//  - balance is as good as the number of partitions per member allows (partitions are whole
//    units: with fewer than ~100 partitions per member, Q should be raised).
//
// A ring is made only by ring::make, which checks its input first: member lists come from
// gossip, and a list the ring cannot place is an error, never an assert or an endless walk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"

namespace kv::cluster {

// A member's weight is 1..max_weight (kvnode --weight has the same bound).
constexpr uint32_t max_weight = 1000;

// The most tokens a ring holds, all members together: 16 bytes each, so 128 MiB while a ring of
// 2^23 tokens is built. That is 8192 members of weight 1, or 8 of weight 1000, at the default
// 1024 tokens per weight; a larger list is refused rather than allowed to exhaust memory.
constexpr uint64_t max_ring_tokens = uint64_t{1} << 23;

struct member_spec {
  std::string id;
  std::string rack;
  std::string datacenter;
  uint32_t weight = 1;
};

struct ring_options {
  uint32_t partitions = 256;          // Q, a power of two
  uint32_t tokens_per_weight = 1024;  // tokens of a weight-1 member
  uint32_t depth = 16;                // members kept per partition's preference order, >= 1
};

// The members as placement sees them, in one string: two member lists place alike if (and,
// given the order of the list, only if) their signatures are equal.
std::string placement_signature(const std::vector<member_spec>& members);

// None if `members` can be placed under `opts`; otherwise an INVALID_ARGUMENT error naming the
// first thing wrong: a partition count that is not a power of two from 1 to 65536,
// tokens_per_weight or depth 0, an empty or repeated id, a weight outside 1..max_weight, or more
// than max_ring_tokens tokens (one member's weight x tokens_per_weight, or all of them).
[[nodiscard]] caf::error check_placeable(const std::vector<member_spec>& members,
                                         const ring_options& opts);

class ring {
 public:
  // The placement of `members` under `opts`, or the error of check_placeable. Members may come
  // in any order; the ring keeps them sorted by id. An empty member list gives empty orders.
  [[nodiscard]] static caf::expected<ring> make(std::vector<member_spec> members,
                                                ring_options opts = {});

  const std::vector<member_spec>& members() const { return members_; }
  uint32_t partitions() const { return opts_.partitions; }
  const ring_options& options() const { return opts_; }

  // Index into members() of the member with this id.
  std::optional<uint32_t> index_of(std::string_view id) const;

  // The preference order of `partition`: min(depth, members) member indexes, the preference
  // list first and the fallbacks after it.
  const std::vector<uint32_t>& order(uint32_t partition) const { return orders_[partition]; }

  // The first n of order(partition): fewer when the ring has fewer members or depth < n.
  std::vector<uint32_t> preference_list(uint32_t partition, uint32_t n) const;

  // For each member, in how many preference lists of length n it appears.
  std::vector<uint32_t> replica_counts(uint32_t n) const;

 private:
  // Precondition: check_placeable(members, opts) passed.
  ring(std::vector<member_spec> members, ring_options opts);

  std::vector<member_spec> members_;
  ring_options opts_;
  std::vector<std::vector<uint32_t>> orders_;  // per partition
};

}  // namespace kv::cluster
