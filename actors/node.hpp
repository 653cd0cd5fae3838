// actors/node.hpp
// The node actor is the one actor a node publishes on its port: clients, kvctl and the chaos
// tool talk to it. It hands client requests to the coordinator (found through the registry on
// every request), answers status from what the supervisor and the storage engine report, and
// makes a named actor fail on purpose when an admin asks (the supervisor then restarts it).
//
// run_node() is kvnode after its flags are parsed: it opens the storage, takes a new
// incarnation, starts the supervisor's tree, publishes the node actor behind the port guard,
// prints `ready <id> <host:port>` on stdout, and runs until SIGTERM/SIGINT or until the tree
// gives up. Exit codes: 0 clean stop, 1 could not start, 3 the node was sick (restart
// intensity exceeded).
#pragma once

#include "actors/config.hpp"

namespace kv::actors {

constexpr int exit_ok = 0;
constexpr int exit_start_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_sick = 3;

int run_node(node_config cfg);

}  // namespace kv::actors
