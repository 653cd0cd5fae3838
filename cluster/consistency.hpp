// cluster/consistency.hpp
// Namespaces and the consistency a request asks for. A namespace carries defaults (n, r, w,
// conflict resolution); a request may override them with numbers or a named level. Resolving
// is strict: r or w above n, a level together with numbers, or an n above the namespace's is
// an INVALID_ARGUMENT error, never silently clamped. Pure logic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "caf/expected.hpp"
#include "cluster/level.hpp"

namespace kv::cluster {

struct namespace_config {
  std::string name;
  uint32_t n = 0;    // replicas of every key; 0 = the cluster's default (see node_config)
  uint32_t r = 0;    // default read quorum; 0 = majority of n
  uint32_t w = 0;    // default write quorum; 0 = majority of n
  bool lww = false;  // last write wins instead of siblings
  // Sloppy quorum: a replica that is down is replaced by a fallback that holds the write as a
  // hint and counts toward w. A strict namespace never counts fallbacks: too few preference-list
  // replicas reachable is an UNAVAILABLE error instead.
  bool strict = false;
  uint64_t ttl_ms = 0;  // versions older than this expire (hidden, then removed); 0 = never
  // A client write that would take one key's stored object (all its siblings, tombstones
  // included, and its context) past either bound is refused TOO_LARGE.
  uint64_t max_object_bytes = uint64_t{4} << 20;
  uint32_t max_siblings = 100;
};

// What a request asked for; zeros mean "not given".
struct requested {
  uint32_t n = 0;
  uint32_t r = 0;
  uint32_t w = 0;
  level lvl = level::unset;
};

// How many replicas a request involves and how many answers it waits for.
struct quorum_plan {
  uint32_t n = 0;         // replicas involved
  uint32_t required = 0;  // replies (read) or acknowledgements (write)
  bool local = false;     // count only replicas in the coordinator's datacenter
};

inline uint32_t majority(uint32_t n) {
  return n / 2 + 1;
}

[[nodiscard]] caf::expected<quorum_plan> plan_read(const namespace_config& ns,
                                                   const requested& req);
[[nodiscard]] caf::expected<quorum_plan> plan_write(const namespace_config& ns,
                                                    const requested& req);

// Checks a namespace definition (from the config file or flags).
[[nodiscard]] caf::error validate(const namespace_config& ns);

}  // namespace kv::cluster
