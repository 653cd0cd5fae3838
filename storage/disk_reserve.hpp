// storage/disk_reserve.hpp
// The free-space reserve of a data directory, as pure logic: when to look at the free space
// again, and whether the disk is short. storage::engine owns one, probes the filesystem when
// it says so and refuses growing writes while it is short (docs/storage.md, "Full disk").
// Not thread-safe: the engine serializes calls.
#pragma once

#include <cstdint>
#include <string>

namespace kv::storage {

struct disk_reserve_options {
  uint64_t reserve_bytes = 0;   // free space kept in reserve; 0: none
  int64_t interval_ms = 100;    // a cached probe is trusted this long...
  uint64_t interval_bytes = 0;  // ...and for this many bytes written; 0: a default (below)
};

// What a probe changed.
enum class disk_change { none, became_short, recovered };

class disk_reserve {
 public:
  explicit disk_reserve(disk_reserve_options options);

  // True when the free space must be probed again at `now_ms`: no probe yet, the last one said
  // short (recovery is noticed at the first look after space is freed), or the last one is
  // older than interval_ms, or more than interval_bytes were written since.
  bool due(int64_t now_ms) const;

  // `bytes` were committed since the last probe.
  void wrote(uint64_t bytes);

  // Records a probe taken at `now_ms`.
  disk_change record(uint64_t free_bytes, int64_t now_ms);

  // Free space below the reserve at the last probe.
  bool short_of_space() const { return short_; }
  uint64_t free_bytes() const { return free_; }
  uint64_t reserve_bytes() const { return options_.reserve_bytes; }

 private:
  disk_reserve_options options_;
  bool probed_ = false;
  bool short_ = false;
  uint64_t free_ = 0;
  int64_t probed_at_ms_ = 0;
  uint64_t written_ = 0;  // since the last probe
};

// "12.50 MiB" (rounded down): how the free space and the reserve are named in errors and logs.
std::string format_bytes(uint64_t bytes);

}  // namespace kv::storage
