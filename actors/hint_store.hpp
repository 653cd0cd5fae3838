// actors/hint_store.hpp
// The hint store (role "hint_store"): replays the writes this node took as a fallback (sloppy
// quorum, actors/put_fsm.cpp) to the member each was meant for.
//
// A hint is stored by the replica that took the write, synced, in the "hints" column family,
// under the member it is for, oldest first (storage/keys.hpp). Replicas tell this actor what
// they stored; it keeps a summary per owner (rebuilt from disk at start). Every
// `hint_replay_interval` it:
//  - enforces the bounds (storage/gc.hpp): hints older than `hint_max_age`, then the oldest
//    beyond `hint_max_bytes`, are dropped; the partitions they belonged to are marked for
//    anti-entropy in the same synced batch that deletes them, so nothing is forgotten
//    silently: the drops are counted, logged and shown by `kvctl hints`;
//  - replays each owner that gossip reports up: `hint_batch_keys` hints at a time, as merges
//    into the owner's replica through this node's link to it. A hint is deleted only after the
//    owner acknowledged it; one that fails stays for the next round. A hint for a member that
//    was removed goes to every current replica of its partition instead.
// A merge is idempotent, so a hint replayed twice (the delete was lost in a crash) does no harm.
#pragma once

#include "actors/interfaces.hpp"
#include "actors/supervisor.hpp"

namespace kv::actors {

hint_store_actor spawn_hint_store(caf::local_actor* parent, supervisor_deps deps);

// The meta-column key that marks `partition` for anti-entropy (actors/anti_entropy.hpp).
std::string repair_mark_key(uint32_t partition);
constexpr const char* repair_mark_prefix = "repair_mark/";

}  // namespace kv::actors
