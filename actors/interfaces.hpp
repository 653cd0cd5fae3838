// actors/interfaces.hpp
// Every typed actor of a node in one screen: who may send what to whom. Message types are the
// protobuf messages of messages/*.proto; atoms are for local control only and never cross the
// wire. This header is all a caller needs to talk to an actor; behaviours live in the .cpp files.
#pragma once

#include <cstdint>
#include <string>

#include "caf/atom.hpp"
#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"
#include "messages/caf_types.hpp"
#include "messages/client.pb.h"
#include "messages/gossip.pb.h"
#include "messages/node.pb.h"
#include "messages/replication.pb.h"

namespace kv::actors {

// Local control.
using commit_atom = caf::atom_constant<caf::atom("commit")>;      // replica: commit queued writes
using tick_atom = caf::atom_constant<caf::atom("tick")>;          // periodic work
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;  // FSM: your deadline passed
using orphan_atom = caf::atom_constant<caf::atom("orphan")>;      // FSM: keep your own deadline
using hurry_atom = caf::atom_constant<caf::atom("hurry")>;        // put FSM: back slow replicas up
using fsm_done_atom = caf::atom_constant<caf::atom("fsmdone")>;   // FSM -> coordinator
using flush_atom = caf::atom_constant<caf::atom("flush")>;        // send what was queued

// What every node serves to clients: put, get, delete and status.
using client_api = caf::typed_actor<caf::replies_to<msg::PutRequest>::with<msg::PutReply>,
                                    caf::replies_to<msg::GetRequest>::with<msg::GetReply>,
                                    caf::replies_to<msg::DeleteRequest>::with<msg::DeleteReply>,
                                    caf::replies_to<msg::StatusRequest>::with<msg::StatusReply>>;

// Administration, for operators and the chaos tool.
using admin_api =
    caf::typed_actor<caf::replies_to<msg::StatusRequest>::with<msg::StatusReply>,
                     caf::replies_to<msg::FailActorRequest>::with<msg::FailActorReply>,
                     caf::replies_to<msg::RingRequest>::with<msg::RingReply>,
                     caf::replies_to<msg::ExplainRequest>::with<msg::ExplainReply>>;

// What a client (kvctl, the client actor of client/client.hpp) may ask a node.
using client_actor =
    client_api::extend<caf::replies_to<msg::FailActorRequest>::with<msg::FailActorReply>,
                       caf::replies_to<msg::RingRequest>::with<msg::RingReply>,
                       caf::replies_to<msg::ExplainRequest>::with<msg::ExplainReply>,
                       caf::replies_to<msg::RemoveMemberRequest>::with<msg::RemoveMemberReply>,
                       caf::replies_to<msg::LeaveRequest>::with<msg::LeaveReply>,
                       caf::replies_to<msg::TransfersRequest>::with<msg::TransfersReply>,
                       caf::replies_to<msg::RepairStatusRequest>::with<msg::RepairStatusReply>,
                       caf::replies_to<msg::HintsRequest>::with<msg::HintsReply>,
                       caf::replies_to<msg::CompactionRequest>::with<msg::CompactionReply>>;

// The reads and writes of one key's replica, and its partitions' Merkle trees. A local replica
// serves them, and so does the link to each peer for the replicas behind it, so an FSM (or
// anti-entropy) talks to local and remote replicas alike.
using replica_api =
    caf::typed_actor<caf::replies_to<msg::ReplicaWriteRequest>::with<msg::ReplicaWriteReply>,
                     caf::replies_to<msg::ReplicaReadRequest>::with<msg::ReplicaReadReply>,
                     caf::replies_to<msg::TreeRequest>::with<msg::TreeReply>>;

// Gossip between nodes (actors/gossip.hpp).
using gossip_api = caf::typed_actor<caf::replies_to<msg::GossipRequest>::with<msg::GossipReply>>;

// Who receives a peer link's batch (a node's front), and who its results (the link).
using replica_batch_sink = caf::typed_actor<caf::reacts_to<msg::ReplicaBatch>>;
using replica_results_sink = caf::typed_actor<caf::reacts_to<msg::ReplicaResults>>;

// What a node publishes on its peer port (--peer-listen), for other nodes only: gossip, and
// batches of replica calls from their links (answered with ReplicaResults). The peer port's
// front implements it (actors/net/front.hpp). Clients and operators have doors of their own
// (actors/net/client_port.hpp), which no actor handle crosses.
using node_actor =
    gossip_api::extend<caf::reacts_to<msg::ReplicaBatch>, caf::reacts_to<flush_atom>>;

// A node's link to one peer (actors/net/peer_link.hpp): the replica calls of this node's FSMs to
// the peer's replicas, sent in batches and answered as the peer's results come back.
using peer_link_actor = replica_api::extend<caf::reacts_to<msg::ReplicaResults>,
                                            caf::reacts_to<flush_atom>, caf::reacts_to<tick_atom>>;

// The node actor (role "node"): status and administration of this node.
using admin_actor = admin_api;

// Replica (vnode): owns the data of a range of partitions (actors/replica.hpp).
using replica_actor =
    replica_api::extend<caf::replies_to<msg::DropPartitionRequest>::with<msg::DropPartitionReply>,
                        caf::reacts_to<commit_atom>>;

// Gossip (role "gossip"): the member table and failure detection; connects to the members,
// publishes the cluster view, and describes the members for the node's status (actors/gossip.hpp).
using gossip_actor =
    gossip_api::extend<caf::replies_to<msg::StatusRequest>::with<msg::StatusReply>,
                       caf::replies_to<msg::RemoveMemberRequest>::with<msg::RemoveMemberReply>,
                       caf::replies_to<msg::LeaveRequest>::with<msg::LeaveReply>,
                       caf::reacts_to<tick_atom>>;

// Handoff (role "handoff"): streams partitions to their new holders (actors/handoff.hpp).
using step_atom = caf::atom_constant<caf::atom("step")>;  // handoff: take the next step now
using handoff_actor =
    caf::typed_actor<caf::replies_to<msg::TransfersRequest>::with<msg::TransfersReply>,
                     caf::reacts_to<tick_atom>, caf::reacts_to<step_atom>>;

// Hint store (role "hint_store"): replays the hints this node holds as a fallback to their
// owners (actors/hint_store.hpp). Replicas tell it of hints they committed: (owner, hints,
// bytes, oldest created ms).
using hints_atom = caf::atom_constant<caf::atom("hints")>;
using hint_store_actor =
    caf::typed_actor<caf::replies_to<msg::HintsRequest>::with<msg::HintsReply>,
                     caf::reacts_to<hints_atom, std::string, uint64_t, uint64_t, int64_t>,
                     caf::reacts_to<tick_atom>>;

// Anti-entropy (role "anti_entropy"): exchanges Merkle trees with the other replicas of each
// held partition and repairs what differs (actors/anti_entropy.hpp). (urgent, partition) puts
// a partition first: the hint store dropped hints of it.
using urgent_atom = caf::atom_constant<caf::atom("urgent")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;  // anti-entropy: tokens are back
using anti_entropy_actor =
    caf::typed_actor<caf::replies_to<msg::RepairStatusRequest>::with<msg::RepairStatusReply>,
                     caf::reacts_to<urgent_atom, uint32_t>, caf::reacts_to<tick_atom>,
                     caf::reacts_to<step_atom>, caf::reacts_to<resume_atom>>;

// Compaction (role "compaction"): tombstone and TTL garbage collection, RocksDB compactions
// (actors/compaction.hpp).
using compaction_actor =
    caf::typed_actor<caf::replies_to<msg::CompactionRequest>::with<msg::CompactionReply>,
                     caf::reacts_to<tick_atom>, caf::reacts_to<step_atom>>;

// Coordinator: validates client requests and runs one FSM per request (actors/coordinator.hpp).
using coordinator_actor =
    caf::typed_actor<caf::replies_to<msg::PutRequest>::with<msg::PutReply>,
                     caf::replies_to<msg::GetRequest>::with<msg::GetReply>,
                     caf::replies_to<msg::DeleteRequest>::with<msg::DeleteReply>,
                     caf::reacts_to<fsm_done_atom, uint64_t>, caf::reacts_to<tick_atom>>;

// Per-request state machines, spawned by the coordinator, answering the client directly.
using put_fsm_actor = caf::typed_actor<caf::replies_to<msg::PutRequest>::with<msg::PutReply>,
                                       caf::replies_to<msg::DeleteRequest>::with<msg::DeleteReply>,
                                       caf::reacts_to<deadline_atom>, caf::reacts_to<orphan_atom>,
                                       caf::reacts_to<hurry_atom>>;

using get_fsm_actor = caf::typed_actor<caf::replies_to<msg::GetRequest>::with<msg::GetReply>,
                                       caf::reacts_to<deadline_atom>, caf::reacts_to<orphan_atom>>;

// Supervisor: the root of the node's actor tree (actors/supervisor.hpp).
using supervisor_actor = caf::typed_actor<
    caf::replies_to<msg::SupervisorStatusRequest>::with<msg::SupervisorStatusReply>>;

}  // namespace kv::actors
