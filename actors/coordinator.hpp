// actors/coordinator.hpp
// The coordinator takes every client request of this node: it validates the request (limits,
// namespace, consistency, context token), finds the replicas of the key, spawns a put or get
// FSM for it and delegates the request there; the FSM answers the client. Bad input is
// answered at once with a typed error and never reaches a replica.
// It also keeps every request's deadline: one queue, one tick, no timer per request.
// It finds replicas through the registry on each request, so restarted replicas are found.
#pragma once

#include <memory>

#include "actors/config.hpp"
#include "actors/interfaces.hpp"

namespace kv::actors {

class registry;
struct node_metrics;

coordinator_actor spawn_coordinator(caf::local_actor* parent, node_config cfg,
                                    std::shared_ptr<registry> reg,
                                    std::shared_ptr<node_metrics> metrics);
coordinator_actor spawn_coordinator(caf::actor_system& sys, node_config cfg,
                                    std::shared_ptr<registry> reg,
                                    std::shared_ptr<node_metrics> metrics);

}  // namespace kv::actors
