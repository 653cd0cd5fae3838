// actors/compaction.hpp
// Compaction (role "compaction", on a thread of its own: it scans and compacts, which blocks):
// garbage collection of what no read may see again, and RocksDB compactions to reclaim it.
//
// Every `compaction_interval` it passes over the partitions this node stores, one at a time,
// judging every object by storage/gc.hpp:
//  - an object whose every version outlived its namespace's TTL is removed here, by this
//    node's replica (a compare-and-delete: a write that arrived since wins);
//  - an object of tombstones only, the newest older than `tombstone_grace`, is removed from
//    every replica at once, and only once every replica of its partition (all n, so all must
//    be up) holds exactly that tombstone: a replica that missed the delete would otherwise
//    bring the value back. The partition's first replica decides, so the replicas do not race.
//    Hints are dropped before the grace period ends (config checks hint_max_age < grace), so
//    no old write waits somewhere to come back either.
// A partition where anything was removed is then compacted (RocksDB CompactRange), so the
// space and the scans of deleted keys are reclaimed. `kvctl compaction` reports what it did
// and RocksDB's compaction statistics.
#pragma once

#include "actors/interfaces.hpp"
#include "actors/supervisor.hpp"

namespace kv::actors {

compaction_actor spawn_compaction(caf::local_actor* parent, supervisor_deps deps);

}  // namespace kv::actors
