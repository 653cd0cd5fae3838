// storage/identity.hpp
// Who this data directory belongs to, kept in the meta column family: the node id (a
// directory serves one node id for life), the partition count (fixed for the life of the
// data) and the incarnation epoch. Each process start takes a new epoch, strictly greater
// than the stored one and at least the wall clock in milliseconds, and syncs it before serving;
// the version-vector actor of this incarnation is "<node id>.<epoch in base 36>". So a restart
// after a crash that lost unsynced writes, or after the directory was wiped, never reissues a
// dot another replica may hold.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "caf/expected.hpp"

namespace kv::storage {

class engine;

struct identity {
  std::string node_id;
  uint32_t partitions = 0;
  uint64_t epoch = 0;
  std::string actor;     // node_id + "." + base36(epoch)
  bool created = false;  // the directory was new
};

// Loads the identity, checks it against the node's configuration, takes a new epoch and
// stores it synced. A directory of another node id, or made with another partition count,
// is an INVALID_ARGUMENT error saying so.
[[nodiscard]] caf::expected<identity> start_incarnation(engine& db, std::string_view node_id,
                                                        uint32_t partitions, int64_t now_ms);

// Takes the incarnation after `current` while the process runs (the dot issuer does when a
// context claims dots the current actor never issued: storage/dot_issuer.hpp): a new epoch,
// strictly greater than the current one and at least the clock, stored synced. `current` is
// updated on success.
[[nodiscard]] caf::error renew_incarnation(engine& db, identity& current, int64_t now_ms);

// "kq3x9a1" for an epoch.
std::string base36(uint64_t value);

}  // namespace kv::storage
