// storage/version_vector.hpp
// Version vectors and dots, the causal metadata of every stored object (dotted version
// vectors, Almeida et al.). Pure logic: no CAF, no I/O, no protobuf.
//
// An actor is one incarnation of a node ("n1.kq3x9a1"); it changes on every process start, so
// a counter is never issued twice even if a crash lost unsynced writes. For one key, an actor
// issues counters 1, 2, 3, ... without gaps, always one above what it has seen for that key;
// that is what lets a vector entry (actor, c) stand for "events 1..c of actor".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kv::storage {

// Counters at or above this are implausible: an actor issuing a million dots a second for one
// key would need 146,000 years to reach it. A decoder of wire input refuses them, and no actor
// issues one (next_dot), so counter arithmetic never wraps.
constexpr uint64_t max_counter = uint64_t{1} << 62;

// The event that created one version.
struct dot {
  std::string actor;
  uint64_t counter = 0;

  friend bool operator==(const dot& a, const dot& b) {
    return a.counter == b.counter && a.actor == b.actor;
  }
  friend bool operator!=(const dot& a, const dot& b) { return !(a == b); }
  friend bool operator<(const dot& a, const dot& b) {
    return a.actor != b.actor ? a.actor < b.actor : a.counter < b.counter;
  }
};

// "n1.kq3x9a1:7"
std::string to_string(const dot& d);

class version_vector {
 public:
  struct entry {
    std::string actor;
    uint64_t counter = 0;
    int64_t updated_ms = 0;  // when this entry last grew; pruning drops the oldest first

    friend bool operator==(const entry& a, const entry& b) {
      return a.counter == b.counter && a.updated_ms == b.updated_ms && a.actor == b.actor;
    }
  };

  version_vector() = default;

  // Builds a vector from entries in any order: duplicates keep the highest counter (and the
  // latest updated_ms), zero counters are dropped.
  static version_vector from_entries(std::vector<entry> entries);

  // Entries sorted by actor, no duplicates, every counter > 0.
  const std::vector<entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  // The counter of `actor`; 0 when absent.
  uint64_t counter(std::string_view actor) const;

  // True when the event `d` is in the history this vector describes.
  bool covers(const dot& d) const { return counter(d.actor) >= d.counter; }

  // True when every event of `other` is covered by this vector (this >= other).
  bool descends(const version_vector& other) const;

  // Raises the entry of d.actor to d.counter (if lower) and stamps it with `now_ms`.
  void add(const dot& d, int64_t now_ms);

  // Pointwise maximum; on equal counters the later updated_ms wins.
  void merge(const version_vector& other);

  // Drops entries, oldest updated_ms first (ties: by actor), until at most `max_entries`
  // remain, never dropping an actor for which `keep(actor)` is true. Returns how many it
  // dropped. max_entries == 0 means no limit.
  size_t prune(size_t max_entries, const std::function<bool(std::string_view)>& keep);

  // Counters and updated_ms are compared: merge is a lattice join over both.
  friend bool operator==(const version_vector& a, const version_vector& b) {
    return a.entries_ == b.entries_;
  }
  friend bool operator!=(const version_vector& a, const version_vector& b) { return !(a == b); }

 private:
  std::vector<entry> entries_;
};

// "{n1.kq3x9a1:3, n2.kq3xb00:1}"
std::string to_string(const version_vector& vv);

}  // namespace kv::storage
