// actors/supervisor.hpp
// The root of a node's actor tree. supervisor.cpp reads as the tree: its children, their start
// order, and the restart policy. kvnode spawns it first; the node actor (node.hpp) stands
// beside it and reaches its children through the registry.
#pragma once

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
class cluster_view;
class audit_log;
struct node_metrics;
struct peer_access;

struct supervisor_deps {
  node_config cfg;
  std::shared_ptr<storage::engine> db;
  std::shared_ptr<registry> reg;
  std::shared_ptr<storage::dot_issuer> issuer;  // dots of client writes, for every replica
  std::shared_ptr<node_metrics> metrics;
  int64_t started_ms = 0;                // process start, for the node actor's uptime
  std::shared_ptr<cluster_view> view;    // published by gossip, read by everyone
  uint64_t epoch = 0;                    // this incarnation's epoch (storage/identity.hpp)
  std::shared_ptr<peer_access> peers{};  // TLS between nodes (gossip.hpp); null: plain
  std::shared_ptr<audit_log> audit{};    // may be null
};

// Starts the tree. The supervisor terminates with user_shutdown after a clean stop (send it an
// exit message), or with an error when the restart intensity was exceeded.
supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_deps deps);

}  // namespace kv::actors
