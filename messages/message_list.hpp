// messages/message_list.hpp
// Every message type that crosses CAF, in one list: register_types (caf_types.cpp) registers
// each under its protobuf name, and the fuzz suite (test/fuzz/messages_fuzz.cpp) decodes each
// from mutated bytes. A new message type goes here and nowhere else.
#pragma once

#include <tuple>

#include "messages/client.pb.h"
#include "messages/gossip.pb.h"
#include "messages/node.pb.h"
#include "messages/replication.pb.h"

namespace kv {

using message_list =
    std::tuple<msg::PutRequest, msg::PutReply, msg::GetRequest, msg::GetReply,  //
               msg::DeleteRequest, msg::DeleteReply, msg::StatusRequest, msg::StatusReply,
               msg::ReplicaWriteRequest, msg::ReplicaWriteReply, msg::ReplicaReadRequest,
               msg::ReplicaReadReply, msg::FailActorRequest, msg::FailActorReply,
               msg::SupervisorStatusRequest, msg::SupervisorStatusReply, msg::RingRequest,
               msg::RingReply, msg::ExplainRequest, msg::ExplainReply, msg::GossipRequest,
               msg::GossipReply, msg::ReplicaBatch, msg::ReplicaResults,
               msg::RemoveMemberRequest, msg::RemoveMemberReply,
               msg::DropPartitionRequest, msg::DropPartitionReply, msg::LeaveRequest,
               msg::LeaveReply, msg::TransfersRequest, msg::TransfersReply, msg::TreeRequest,
               msg::TreeReply, msg::RepairStatusRequest, msg::RepairStatusReply, msg::HintsRequest,
               msg::HintsReply, msg::CompactionRequest, msg::CompactionReply>;

}  // namespace kv
