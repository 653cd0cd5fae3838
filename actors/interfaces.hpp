// actors/interfaces.hpp
// Every typed actor of a node in one screen: who may send what to whom. Message types are the
// protobuf messages of messages/*.proto; atoms are for local control only and never cross the
// wire. This header is all a caller needs to talk to an actor; behaviours live in the .cpp files.
#pragma once

#include "caf/atom.hpp"
#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"
#include "messages/caf_types.hpp"
#include "messages/client.pb.h"
#include "messages/node.pb.h"
#include "messages/replication.pb.h"

namespace kv::actors {

// Local control.
using commit_atom = caf::atom_constant<caf::atom("commit")>;      // replica: commit queued writes
using tick_atom = caf::atom_constant<caf::atom("tick")>;          // coordinator: check deadlines
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;  // FSM: your deadline passed
using orphan_atom = caf::atom_constant<caf::atom("orphan")>;      // FSM: keep your own deadline
using fsm_done_atom = caf::atom_constant<caf::atom("fsmdone")>;   // FSM -> coordinator

// What every node serves to clients, and what the client actor (client/client.hpp) serves to
// its users: put, get, delete and status.
using client_api = caf::typed_actor<caf::replies_to<msg::PutRequest>::with<msg::PutReply>,
                                    caf::replies_to<msg::GetRequest>::with<msg::GetReply>,
                                    caf::replies_to<msg::DeleteRequest>::with<msg::DeleteReply>,
                                    caf::replies_to<msg::StatusRequest>::with<msg::StatusReply>>;

// What a node serves on its port: the client API plus administration. Clients, kvctl and the
// chaos tool talk to it. The port's front actor implements it, routing each request to the
// coordinator or the node actor of the moment (actors/node.hpp).
using node_actor =
    client_api::extend<caf::replies_to<msg::FailActorRequest>::with<msg::FailActorReply>>;

// The node actor (role "node"): status and administration of this node.
using admin_actor =
    caf::typed_actor<caf::replies_to<msg::StatusRequest>::with<msg::StatusReply>,
                     caf::replies_to<msg::FailActorRequest>::with<msg::FailActorReply>>;

// Replica (vnode): owns the data of a range of partitions (actors/replica.hpp).
using replica_actor =
    caf::typed_actor<caf::replies_to<msg::ReplicaWriteRequest>::with<msg::ReplicaWriteReply>,
                     caf::replies_to<msg::ReplicaReadRequest>::with<msg::ReplicaReadReply>,
                     caf::reacts_to<commit_atom>>;

// Coordinator: validates client requests and runs one FSM per request (actors/coordinator.hpp).
using coordinator_actor =
    caf::typed_actor<caf::replies_to<msg::PutRequest>::with<msg::PutReply>,
                     caf::replies_to<msg::GetRequest>::with<msg::GetReply>,
                     caf::replies_to<msg::DeleteRequest>::with<msg::DeleteReply>,
                     caf::reacts_to<fsm_done_atom, uint64_t>, caf::reacts_to<tick_atom>>;

// Per-request state machines, spawned by the coordinator, answering the client directly.
using put_fsm_actor = caf::typed_actor<caf::replies_to<msg::PutRequest>::with<msg::PutReply>,
                                       caf::replies_to<msg::DeleteRequest>::with<msg::DeleteReply>,
                                       caf::reacts_to<deadline_atom>, caf::reacts_to<orphan_atom>>;

using get_fsm_actor = caf::typed_actor<caf::replies_to<msg::GetRequest>::with<msg::GetReply>,
                                       caf::reacts_to<deadline_atom>, caf::reacts_to<orphan_atom>>;

// Supervisor: the root of the node's actor tree (actors/supervisor.hpp).
using supervisor_actor = caf::typed_actor<
    caf::replies_to<msg::SupervisorStatusRequest>::with<msg::SupervisorStatusReply>>;

}  // namespace kv::actors
