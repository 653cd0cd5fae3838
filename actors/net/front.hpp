// actors/net/front.hpp
// The port's front is the actor a node publishes: a router that hands client requests to the
// coordinator, status and admin requests to the node actor, gossip to the gossip actor, and
// each replica call of a peer's batch to the local replica that holds its partition, all found
// through the registry on every request. Clients and peers hold one proxy to the front, so
// restarts behind it are invisible to them beyond the requests in flight.
//
// Batches (a client actor's ClientBatch, a peer link's ReplicaBatch) are unpacked into one
// request per call; the results go back to the batch's sender as they come in, several to a
// message (actors/net/batching.hpp), so a slow call holds up no other.
#pragma once

#include <memory>

#include "actors/interfaces.hpp"
#include "actors/node/config.hpp"

namespace kv::actors {

class registry;

node_actor spawn_front(caf::actor_system& sys, std::shared_ptr<registry> reg, node_config cfg);

}  // namespace kv::actors
