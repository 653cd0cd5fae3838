#include "actors/node/cluster_view.hpp"

#include "actors/node/registry.hpp"
#include "actors/replica.hpp"

namespace kv::actors {

replica_api replica_of(const cluster_snapshot& snap, const registry& reg, uint32_t m,
                       uint32_t partition, uint32_t replica_actors) {
  if (m == snap.self) {
    auto role = replica_role(replica_index(partition, snap.ring->partitions(), replica_actors));
    return caf::actor_cast<replica_api>(reg.get_as<replica_actor>(role));
  }
  if (m >= snap.peers.size() || !snap.peers[m].up) return {};
  return caf::actor_cast<replica_api>(snap.peers[m].link);
}

caf::expected<std::shared_ptr<const cluster_snapshot>> single_node(
    const cluster::member_spec& self, const std::string& address,
    const cluster::ring_options& opts) {
  auto ring = cluster::ring::make({self}, opts);
  if (!ring) return ring.error();
  auto snap = std::make_shared<cluster_snapshot>();
  snap->ring = std::make_shared<const cluster::ring>(std::move(*ring));
  snap->peers.push_back({address, true, peer_link_actor{}});
  snap->complete = true;
  return snap;
}

}  // namespace kv::actors
