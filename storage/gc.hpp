// storage/gc.hpp
// What may be thrown away, and when: the rules of the compaction and hint-store actors as pure
// functions (tested in test/storage/gc_test.cpp).
//
// Objects. A version expires when its namespace has a TTL and the version is older than that.
// Expiry is a function of the version alone, so every replica agrees on it without talking: an
// expired version is hidden from reads at once, and an object whose every version expired is
// removed by each replica on its own (an older copy that comes back is expired too). A
// tombstone is different: it must outlive every copy of the value it deleted, so it goes only
// after the grace period, and only once every replica of its partition holds it (the compaction
// actor checks; here is only "is it past grace").
//
// Hints. A hint older than the age bound is dropped; then, while the hints held exceed the size
// bound, the oldest go first. The hint store marks the partitions of what it drops for
// anti-entropy before it deletes them.
#pragma once

#include <cstdint>
#include <vector>

#include "storage/object.hpp"

namespace kv::storage {

// True when `s` is past its namespace's TTL (0: no TTL) at `now_ms`.
bool expired(const sibling& s, uint64_t ttl_ms, int64_t now_ms);

// The siblings a read returns: those not expired.
std::vector<sibling> visible(const object& obj, uint64_t ttl_ms, int64_t now_ms);

enum class gc_verdict : uint8_t {
  keep,
  expired,    // every version expired: remove it locally
  tombstone,  // only tombstones, the newest past grace: remove once every replica holds it
};

struct gc_rules {
  int64_t now_ms = 0;
  int64_t grace_ms = 0;
  uint64_t ttl_ms = 0;  // of the object's namespace; 0 = none
};

gc_verdict judge(const object& obj, const gc_rules& rules);

struct hint_info {
  int64_t created_ms = 0;
  uint64_t bytes = 0;
};

struct hint_limits {
  int64_t max_age_ms = 0;
  uint64_t max_bytes = 0;
};

// Indexes into `hints` (any order) of what to drop at `now_ms`: `too_old` are past the age
// bound; `too_many` are the oldest of the rest, as few as bring the total to the size bound.
struct hint_drops {
  std::vector<size_t> too_old;
  std::vector<size_t> too_many;
};

hint_drops hints_to_drop(const std::vector<hint_info>& hints, const hint_limits& limits,
                         int64_t now_ms);

}  // namespace kv::storage
