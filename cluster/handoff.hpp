// cluster/handoff.hpp
// What a change of placement asks of one node. Pure logic over two rings; the handoff actor
// (actors/handoff.hpp) carries it out.
//
// For every partition, each member that held it before and still exists sends it to every
// member that holds it now and did not before (all old holders send: a write acknowledged at
// W < N is on some of them only, and merging the same object twice changes nothing). A member
// that held it before and does not now drops it once every one of its sends is confirmed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/ring.hpp"

namespace kv::cluster {

struct transfer {
  uint32_t partition = 0;
  std::string target;  // member id

  friend bool operator==(const transfer& a, const transfer& b) {
    return a.partition == b.partition && a.target == b.target;
  }
};

struct handoff_plan {
  std::vector<transfer> sends;  // by partition, then target
  std::vector<uint32_t> drops;  // ascending
};

// The plan of member `self` when placement goes from `before` to `after`, for preference
// lists of length `n` (the largest n of any namespace: a partition holds every namespace's keys).
handoff_plan plan_handoff(const ring& before, const ring& after, uint32_t n, std::string_view self);

// Whether `self` holds `partition` under `r` (is in its first `n`).
bool holds(const ring& r, uint32_t partition, uint32_t n, std::string_view self);

}  // namespace kv::cluster
