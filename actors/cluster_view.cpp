#include "actors/cluster_view.hpp"

namespace kv::actors {

std::shared_ptr<const cluster_snapshot> single_node(const cluster::member_spec& self,
                                                    const std::string& address,
                                                    const cluster::ring_options& opts) {
  auto snap = std::make_shared<cluster_snapshot>();
  snap->ring = std::make_shared<cluster::ring>(std::vector<cluster::member_spec>{self}, opts);
  snap->peers.push_back({address, true, peer_link_actor{}});
  snap->complete = true;
  return snap;
}

}  // namespace kv::actors
