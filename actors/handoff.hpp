// actors/handoff.hpp
// Handoff (role "handoff"): when placement changes (a node joins, leaves or is removed), this
// node sends the partitions it held to their new holders and then deletes those it no longer
// holds. cluster/handoff.hpp says what to send where; this actor does it.
//
// It compares the ring of the cluster view with the ring its data is laid out for (its base,
// stored in the meta column family with the work still to do, so a restart resumes). Each
// transfer streams one partition, `handoff_batch_keys` keys in flight at a time, as merges
// into the target's replica through this node's link to it; a batch that fails (the target
// went) is sent again later, from where it stopped. A second sweep follows `handoff_settle`
// after the first, for writes that reached this node from a coordinator that had not yet
// heard of the change. A partition this node no longer holds is dropped (by its replica) only
// once every transfer of it is confirmed. A leaving node stops once it has handed off all.
#pragma once

#include <memory>

#include "actors/interfaces.hpp"
#include "actors/node/cluster_view.hpp"
#include "actors/node/config.hpp"

namespace kv::storage {
class engine;
}  // namespace kv::storage

namespace kv::actors {

class registry;

struct handoff_deps {
  node_config cfg;
  std::shared_ptr<storage::engine> db;
  std::shared_ptr<registry> reg;
  std::shared_ptr<cluster_view> view;
  caf::actor supervisor;  // stopped (user_shutdown) when a leaving node has handed off all
};

handoff_actor spawn_handoff(caf::local_actor* parent, handoff_deps deps);

}  // namespace kv::actors
