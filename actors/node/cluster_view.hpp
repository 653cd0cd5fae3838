// actors/node/cluster_view.hpp
// The cluster as this node sees it right now: the members and their placement (the ring), which
// of them are reachable, and the link to each reachable peer (actors/net/peer_link.hpp). The gossip
// actor publishes a new immutable snapshot whenever any of that changes; the coordinator and the
// node actor read the current one on every request (one atomic load). The ring is rebuilt only when
// the members themselves change, not when one goes up or down.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/interfaces.hpp"
#include "cluster/ring.hpp"

namespace kv::actors {

struct peer_state {
  std::string address;   // "host:port" of its port
  bool up = false;       // connected (always true for this node)
  peer_link_actor link;  // replica calls to the peer; null for this node and while not connected
};

struct cluster_snapshot {
  std::shared_ptr<const cluster::ring> ring;
  std::vector<peer_state> peers;  // indexed like ring->members()
  static constexpr uint32_t no_member = UINT32_MAX;
  uint32_t self = 0;      // this node's index in ring->members(), or no_member
  bool complete = false;  // every seed is known: placement is final
  bool leaving = false;   // this node hands its data off, and stops once done
  uint64_t version = 0;

  const cluster::member_spec& member(uint32_t i) const { return ring->members()[i]; }
};

class cluster_view {
 public:
  std::shared_ptr<const cluster_snapshot> current() const { return std::atomic_load(&snapshot_); }
  void publish(std::shared_ptr<const cluster_snapshot> next) {
    std::atomic_store(&snapshot_, std::move(next));
  }

 private:
  std::shared_ptr<const cluster_snapshot> snapshot_;
};

class registry;

// The replica of ring member `m` that holds `partition`: this node's own (found by role in
// `reg`; its replicas split the partitions evenly), or this node's link to the peer. Null when
// it cannot be reached now (the peer is down, or the replica is restarting).
replica_api replica_of(const cluster_snapshot& snap, const registry& reg, uint32_t m,
                       uint32_t partition, uint32_t replica_actors);

// The view of a node alone: itself, reachable, complete; the ring's error if it cannot be placed.
caf::expected<std::shared_ptr<const cluster_snapshot>> single_node(
    const cluster::member_spec& self, const std::string& address,
    const cluster::ring_options& opts);

}  // namespace kv::actors
