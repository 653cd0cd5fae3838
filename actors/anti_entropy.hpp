// actors/anti_entropy.hpp
// Anti-entropy (role "anti_entropy"): replicas that missed writes (down for a while, a hint
// dropped, a wiped disk) converge without anyone reading the keys.
//
// Each replica keeps a Merkle tree per partition, current with every write (actors/replica.hpp,
// storage/merkle_tree.hpp). This actor takes the partitions this node holds one at a time and
// exchanges trees with each other replica of the partition: the roots first, then the children
// of the nodes that differ, level by level, down to the buckets that differ; then the keys of
// those buckets with their digests; then, for each key whose digests differ, it reads both
// objects, merges them by version vector and writes the merge to each side that lacked it.
// k differing keys cost O(k log leaves) hashes and O(k) objects, not the partition.
//
// Pacing: one partition at a time, all held partitions once per `anti_entropy_sweep`, and the
// repairs at most `anti_entropy_keys_per_second`, so foreground requests keep their latency.
// Some partitions go first: all of them when the node starts (it may have missed anything), those
// shared with a member that just came back, and those whose hints the hint store dropped. A
// hint's partition is not held by the fallback that held the hint, so for those this actor
// drives the exchange between the partition's first holder and each of the others; their mark
// lives in the meta column family (it survives a crash) until every exchange succeeded. One that
// fails is tried again 5 s later, behind the others. `kvctl repair-status` shows what it did.
#pragma once

#include "actors/interfaces.hpp"
#include "actors/supervisor.hpp"

namespace kv::actors {

anti_entropy_actor spawn_anti_entropy(caf::local_actor* parent, supervisor_deps deps);

}  // namespace kv::actors
