// actors/replica.hpp
// A replica (vnode) serves reads and writes for a contiguous range of this node's partitions,
// and is the only actor that writes user data to storage::engine. On a node that syncs its
// writes it runs on its own thread (spawned detached), because an fsync blocks for milliseconds.
// On an unsynced node it runs on the scheduler, saving a thread wake-up per message (about 15%
// of the CPU per operation, docs/storage.md); the fsyncs it still owes go to a syncer thread
// (replica_config::offload_syncs).
//
// Writes are group-committed. The first write of a round queues a `commit` message behind
// itself; every write that reaches the mailbox before that message joins the same WriteBatch,
// which goes out with one sync; only then is each write acknowledged. Writes arriving during
// the sync form the next round. Reads see committed data only, never a write that has not been
// acknowledged.
//
// It also keeps a Merkle tree (storage/merkle_tree.hpp) of each of its partitions, built from
// disk the first time anti-entropy asks for it and kept current by every write after that, and
// it stores the hints of writes it takes as a fallback (synced, whatever the node's sync mode).
//
// Killed or crashed, it answers the writes it was holding with UNAVAILABLE at once (they were
// never committed); asked to stop (user_shutdown), it commits them first. A commit that fails
// answers its writes INTERNAL (on disk or not, nobody knows) and fails the replica.
//
// A short disk (storage/engine.hpp) fails nothing: writes that would grow the store (client
// writes, merges that change an object, hints) are refused UNAVAILABLE before they are staged,
// and a commit the engine refuses for want of space answers its writes UNAVAILABLE while the
// replica goes on. Purges and partition drops, which free space, still run; reads always do.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "actors/node/config.hpp"

namespace kv::storage {
class engine;
class dot_issuer;
}  // namespace kv::storage

namespace kv::actors {

class registry;

struct replica_config {
  uint32_t index = 0;
  uint32_t first_partition = 0;  // owns [first_partition, last_partition)
  uint32_t last_partition = 0;
  std::string node_id;
  // Issues the dots of client writes, shared by every replica of the node and kept across
  // their restarts (storage/dot_issuer.hpp).
  std::shared_ptr<storage::dot_issuer> issuer;
  bool sync = true;
  size_t max_context_entries = 64;
  uint32_t merkle_leaves = 256;
  wall_clock now_ms = system_wall_clock_ms;
  std::shared_ptr<registry> reg;  // to tell the hint store of new hints; may be null
  // A replica on the scheduler (an unsynced node's) leaves the fsyncs it still owes (hints,
  // writes asked to be durable) to a thread of its own, the syncer, so that no event loop
  // waits on the disk; their writes are answered once it synced. The syncer runs detached
  // unless `detached_syncer` is false (actor tests, to stay deterministic).
  bool offload_syncs = false;
  bool detached_syncer = true;
};

// The configuration of replica `index` on a node configured as `cfg`.
replica_config make_replica_config(const node_config& cfg, uint32_t index,
                                   std::shared_ptr<storage::dot_issuer> issuer);

// The same with an issuer of its own for `actor`, which cannot take a new incarnation (tests).
replica_config make_replica_config(const node_config& cfg, uint32_t index, std::string actor);

// Index of the replica (of `replicas`) that owns `partition` (of `partitions`).
uint32_t replica_index(uint32_t partition, uint32_t partitions, uint32_t replicas);

// Spawns a replica as a child of `parent` (or of nobody); on its own thread when `detached`.
replica_actor spawn_replica(caf::local_actor* parent, replica_config cfg,
                            std::shared_ptr<storage::engine> db, bool detached);
replica_actor spawn_replica(caf::actor_system& sys, replica_config cfg,
                            std::shared_ptr<storage::engine> db, bool detached);

}  // namespace kv::actors
