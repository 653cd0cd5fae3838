#include "messages/caf_types.hpp"

#include "caf/actor_system_config.hpp"
#include "messages/client.pb.h"
#include "messages/errc.hpp"
#include "messages/gossip.pb.h"
#include "messages/node.pb.h"
#include "messages/replication.pb.h"

namespace kv {
namespace {

template <class... Ts>
void add_all(caf::actor_system_config& cfg) {
  (cfg.add_message_type<Ts>(Ts::descriptor()->full_name()), ...);
}

}  // namespace

void register_types(caf::actor_system_config& cfg) {
  add_all<msg::PutRequest, msg::PutReply, msg::GetRequest, msg::GetReply,  //
          msg::DeleteRequest, msg::DeleteReply, msg::StatusRequest, msg::StatusReply,
          msg::ReplicaWriteRequest, msg::ReplicaWriteReply, msg::ReplicaReadRequest,
          msg::ReplicaReadReply, msg::FailActorRequest, msg::FailActorReply,
          msg::SupervisorStatusRequest, msg::SupervisorStatusReply, msg::RingRequest,
          msg::RingReply, msg::ExplainRequest, msg::ExplainReply, msg::GossipRequest,
          msg::GossipReply, msg::ReplicaBatch, msg::ReplicaResults, msg::ClientBatch,
          msg::ClientResults, msg::RemoveMemberRequest, msg::RemoveMemberReply,
          msg::DropPartitionRequest, msg::DropPartitionReply, msg::LeaveRequest, msg::LeaveReply,
          msg::TransfersRequest, msg::TransfersReply, msg::TreeRequest, msg::TreeReply,
          msg::RepairStatusRequest, msg::RepairStatusReply, msg::HintsRequest, msg::HintsReply,
          msg::CompactionRequest, msg::CompactionReply>(cfg);
  cfg.add_error_category(caf::atom("kv"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string result{to_string(static_cast<errc>(code))};
                           if (ctx.match_elements<std::string>()) {
                             result += ' ';
                             result += ctx.get_as<std::string>(0);
                           }
                           return result;
                         });
}

}  // namespace kv
