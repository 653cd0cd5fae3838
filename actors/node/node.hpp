// actors/node/node.hpp
// The node actor (role "node", the last child of the supervisor) answers status from what the
// supervisor and the storage engine report, and makes a named actor fail on purpose when an
// admin asks (its supervisor then restarts it).
//
// run_node() is kvnode after its flags are parsed: it opens the storage, takes a new
// incarnation, starts the supervisor's tree, publishes the port's front (actors/net/front.hpp)
// behind the port guard, prints `ready <id> <host:port>` on stdout, and runs until SIGTERM or
// SIGINT or until the tree gives up. Exit codes: 0 clean stop, 1 could not start, 3 the node was
// sick (restart intensity exceeded).
#pragma once

#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "actors/node/config.hpp"
#include "actors/supervisor.hpp"

namespace kv::actors {

// The node actor sees what the supervisor's children see, and asks `sup` (its parent) for
// their state.
admin_actor spawn_node(caf::local_actor* parent, supervisor_deps deps, supervisor_actor sup);

constexpr int exit_ok = 0;
constexpr int exit_start_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_sick = 3;

int run_node(node_config cfg);

}  // namespace kv::actors
