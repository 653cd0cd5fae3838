// actors/coordinator.hpp
// The coordinator takes every client request of this node: it validates the request (limits,
// namespace, consistency, context token), finds the replicas of the key, spawns a put or get
// FSM for it and delegates the request there; the FSM answers the client. Bad input is
// answered at once with a typed error and never reaches a replica.
// It also keeps every request's deadline: one queue, one tick, no timer per request.
// Replicas come from the cluster view on each request: local ones through the registry (so a
// restarted replica is found), remote ones through the link to their node, which fails its
// calls at once when the node goes.
#pragma once

#include "actors/interfaces.hpp"
#include "actors/supervisor.hpp"

namespace kv::actors {

// Uses deps.cfg, deps.reg, deps.metrics and deps.view.
coordinator_actor spawn_coordinator(caf::local_actor* parent, supervisor_deps deps);
coordinator_actor spawn_coordinator(caf::actor_system& sys, supervisor_deps deps);

}  // namespace kv::actors
