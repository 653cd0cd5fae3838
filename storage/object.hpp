// storage/object.hpp
// A stored object: the siblings of one key that no write has superseded, and the causal
// context (a version vector) covering every one of them. The write and merge rules of ringkv
// live here, as pure functions tested as laws (test/storage/object_test.cpp):
//  - merge is commutative, associative and idempotent (a join semilattice), for both
//    resolutions;
//  - a write carrying a client context supersedes exactly the siblings that context covers;
//  - a write without context, or with a stale one, becomes a sibling: it never silently
//    replaces a concurrent value;
//  - the context a write hands back covers the new version, and no sibling its client was
//    never shown;
//  - a delete is a tombstone sibling and obeys the same rules.
// Under `resolution::lww` only the newest sibling survives (timestamp, then dot), for
// namespaces whose users accept losing concurrent writes. A write is stamped after every
// version its coordinating replica holds, so it wins over those even when the wall clock went
// backwards; among writes made concurrently on different replicas, the later clock wins.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/causal_context.hpp"
#include "storage/version_vector.hpp"

namespace kv::storage {

// One concurrent version: a value, or a tombstone when `deleted`.
struct sibling {
  dot id;
  std::string value;
  bool deleted = false;
  int64_t timestamp_ms = 0;  // wall clock of the coordinating replica

  friend bool operator==(const sibling& a, const sibling& b) {
    return a.id == b.id && a.deleted == b.deleted && a.timestamp_ms == b.timestamp_ms &&
           a.value == b.value;
  }
  friend bool operator!=(const sibling& a, const sibling& b) { return !(a == b); }
};

enum class resolution : uint8_t {
  causal,  // keep every sibling no write has superseded
  lww,     // keep only the newest sibling by (timestamp_ms, dot)
};

struct write_rules;
struct write_result;

class object {
 public:
  object() = default;

  // Normalizes: siblings sorted by dot, one per dot, and the context raised to cover every
  // sibling. Used by decoders and tests; the write and merge rules keep this form.
  static object from_parts(std::vector<sibling> siblings, version_vector context);

  const std::vector<sibling>& siblings() const { return siblings_; }
  const version_vector& context() const { return context_; }

  // Nothing stored at all (never written, or only a context).
  bool empty() const { return siblings_.empty(); }

  // At least one sibling is a value rather than a tombstone: a read finds the key.
  bool has_live() const;

  friend bool operator==(const object& a, const object& b) {
    return a.siblings_ == b.siblings_ && a.context_ == b.context_;
  }
  friend bool operator!=(const object& a, const object& b) { return !(a == b); }

 private:
  friend object merge(const object& a, const object& b, resolution how);
  friend write_result apply_write(const object& current, const causal_context& seen,
                                  sibling version, const write_rules& rules);

  std::vector<sibling> siblings_;  // sorted by dot
  version_vector context_;         // covers every sibling's dot
};

// The dot a write coordinated by `actor` gets on top of `current`:
// (actor, max(current.context().counter(actor), floor) + 1). `floor` is the highest counter
// the actor issued for any key: a key whose object was removed entirely (an expired value, a
// purged tombstone) has forgotten its counter, and a copy of the old object that still exists
// elsewhere would take a reissued counter for one it already saw, and drop the new write.
// nullopt when that counter would reach max_counter: the context claims (falsely) that the
// actor issued nearly 2^62 dots for this key, and any dot it issued would be covered by that
// claim wherever it is merged. The writer must then issue under a new actor (dot_issuer).
std::optional<dot> next_dot(const object& current, std::string_view actor, uint64_t floor = 0);

// Join of two replicas' states of one key. A sibling survives when the other side holds it
// too, or when the other side's context does not cover it (it has not seen it). The result's
// context is the pointwise maximum. Under lww, only the newest sibling of the result stays.
object merge(const object& a, const object& b, resolution how = resolution::causal);

struct write_rules {
  resolution how = resolution::causal;
  int64_t now_ms = 0;              // stamps the context entry of the new dot
  size_t max_context_entries = 0;  // prune the context beyond this (0: no limit)
};

struct write_result {
  object stored;        // the object after the write
  causal_context seen;  // what the writer has now seen: its context plus the new version
  size_t pruned = 0;    // context entries dropped by the limit
};

// A client write applied at the coordinating replica. `seen` is the client's context (empty
// for a blind write); `version.id` must come from next_dot(current, <this replica's actor>).
// Siblings covered by `seen` are superseded; every other sibling stays beside the new one
// (under lww: the new version alone stays, its timestamp raised above every one held).
// The stored context becomes current ∪ seen.vv() ∪ {version.id}, plus those of seen's exact
// dots that extend it without a gap, with the client's entry stamps capped at now; pruning
// never drops the writer's entry or one that has a sibling.
// The context handed back covers the new version and what the client had seen, and no other
// sibling this replica holds. The new dot joins its actor's vector entry when no other sibling
// of that actor survives: the common case, in which the token stays a plain vector (every
// event of the actor for this key was issued here, and those not held were superseded). Else
// it stays an exact dot. Exact dots of `seen` that the stored context now records are left
// out: their versions are superseded here, and every other copy is dropped when it meets this
// replica's state. A client that keeps writing with what it is handed back so carries a token
// that does not grow.
write_result apply_write(const object& current, const causal_context& seen, sibling version,
                         const write_rules& rules);

}  // namespace kv::storage
