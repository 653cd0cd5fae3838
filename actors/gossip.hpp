// actors/gossip.hpp
// Gossip (role "gossip"): the cluster's members, as this node knows them. It keeps the member
// table (cluster/members.hpp) and the failure detector (cluster/failure_detector.hpp), stored in
// the meta column family so a restarted node knows its cluster while peers are down.
//
// Every round (gossip_interval) it raises its own heartbeat, declares down the members the
// detector judges down, and exchanges tables (push-pull) with `gossip_fanout` random connected
// peers that are not down, plus one that is, so a member that comes back learns it was declared
// down and refutes it. It connects through the middleman to every member (and seed) it knows;
// the first exchange introduces the two nodes. For each connected peer it runs a link (actors/
// peer_link.hpp) that carries this node's replica calls to it; a peer's connection that drops
// fails the link's calls at once and makes the peer suspect.
//
// Every change of who is placed, who is down or who is connected becomes a new snapshot in the
// cluster_view (actors/node/cluster_view.hpp), which the coordinator reads on every request.
#pragma once

#include <memory>

#include "actors/interfaces.hpp"
#include "actors/node/cluster_view.hpp"
#include "actors/node/config.hpp"
#include "cluster/members.hpp"
#include "cluster/ring.hpp"

namespace kv::storage {
class engine;
}  // namespace kv::storage

namespace kv::actors {

class audit_log;
class registry;
struct peer_access;
struct node_metrics;

struct gossip_deps {
  node_config cfg;
  std::shared_ptr<storage::engine> db;
  std::shared_ptr<registry> reg;
  std::shared_ptr<cluster_view> view;
  uint64_t epoch = 0;  // this process's incarnation (storage/identity.hpp)
  // With mutual TLS between nodes: how to connect to peers, and the member id each connected
  // peer's certificate names; a peer may gossip only under its own. Null: plain connections.
  std::shared_ptr<peer_access> peers{};
  std::shared_ptr<audit_log> audit{};       // membership changes; may be null
  std::shared_ptr<node_metrics> metrics{};  // the peer links count their batches; may be null
};

gossip_actor spawn_gossip(caf::local_actor* parent, gossip_deps deps);

// This node's row of the member table, from its configuration.
cluster::member_entry self_entry(const node_config& cfg, uint64_t incarnation);
cluster::ring_options ring_options_of(const node_config& cfg);

}  // namespace kv::actors
