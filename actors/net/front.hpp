// actors/net/front.hpp
// The peer port's front is the actor a node publishes on --peer-listen, for other nodes: a
// router that hands gossip to the gossip actor and each replica call of a peer's batch to the
// local replica that holds its partition, both found through the registry on every request.
// Peers hold one proxy to the front, so restarts behind it are invisible to them beyond the
// requests in flight. Anything else sent to it is refused and counted (peer_refused()).
//
// A peer link's ReplicaBatch is unpacked into one request per call; the results go back to the
// batch's sender as they come in, several to a message (actors/net/batching.hpp), so a slow
// call holds up no other.
#pragma once

#include <atomic>
#include <memory>

#include "actors/interfaces.hpp"
#include "actors/node/config.hpp"

namespace kv::actors {

class registry;
struct node_metrics;

// `refused` counts the messages the front refused; `metrics`, when given, the batches of
// results it sends (node_metrics::results_out).
node_actor spawn_front(caf::actor_system& sys, std::shared_ptr<registry> reg, node_config cfg,
                       std::shared_ptr<std::atomic<uint64_t>> refused,
                       std::shared_ptr<node_metrics> metrics = nullptr);

}  // namespace kv::actors
