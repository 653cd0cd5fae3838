// actors/membership.hpp
// Membership (role "membership"): who is in the cluster. It starts from the members stored in
// the meta column family and the seed addresses, connects to each through the middleman,
// introduces this node (MembersRequest) and learns the others (MembersReply), and stores what it
// learned, so a restarted node knows its cluster even while some peers are down. It monitors one
// proxy per peer (the peer's front) and so sees a peer go within the middleman's heartbeat
// timeout; it reconnects on its tick. For each connected peer it runs a link (actors/
// peer_link.hpp) that carries this node's replica calls to it in batches; the link watches the
// same proxy and fails its calls at once when the peer goes. Every change becomes a new
// snapshot in the cluster_view. Static membership: members are added, never removed (gossip comes
// next).
#pragma once

#include <memory>

#include "actors/cluster_view.hpp"
#include "actors/config.hpp"
#include "actors/interfaces.hpp"
#include "cluster/ring.hpp"

namespace kv::storage {
class engine;
}  // namespace kv::storage

namespace kv::actors {

class registry;

struct membership_deps {
  node_config cfg;
  std::shared_ptr<storage::engine> db;
  std::shared_ptr<registry> reg;
  std::shared_ptr<cluster_view> view;
};

membership_actor spawn_membership(caf::local_actor* parent, membership_deps deps);

// This node as a member, from its configuration.
msg::Member self_member(const node_config& cfg);
cluster::member_spec to_spec(const msg::Member& m);
cluster::ring_options ring_options_of(const node_config& cfg);

}  // namespace kv::actors
