// The get FSM: one client read, answered once r replicas replied.
//
//   request ──► read all n replicas ──(r replies)──► answered ──(all replied, or deadline)──► done
//                      │                               ▲
//                      └── too many fail / deadline ───┘
//
// Replies merge into one object by version vector, so the client sees every sibling any of
// the r replicas holds and one context covering them all. Replies after the answer are
// consumed quietly.
#include <optional>

#include "actors/fsm.hpp"
#include "actors/shield.hpp"
#include "caf/all.hpp"
#include "cluster/quorum.hpp"
#include "messages/errc.hpp"
#include "storage/codec.hpp"

namespace kv::actors {
namespace {

struct get_state {
  fsm_args args;
  std::optional<cluster::quorum> votes;
  caf::typed_response_promise<msg::GetReply> promise;
  storage::object merged;
  bool answered = false;
  bool done = false;
  failures failed;

  static inline const char* name = "get_fsm";
};

using get_pointer = get_fsm_actor::stateful_pointer<get_state>;

void finish(get_pointer self) {
  auto& st = self->state;
  if (st.done) return;
  st.done = true;
  self->send(st.args.coordinator, fsm_done_atom::value, st.args.id);
  self->quit();
}

msg::GetReply make_reply(const storage::object& obj) {
  msg::GetReply reply;
  msg::Object proto;
  storage::to_proto(obj, proto);
  reply.mutable_siblings()->Swap(proto.mutable_siblings());
  reply.set_context(proto.context().SerializeAsString());
  return reply;
}

void answer(get_pointer self, caf::expected<msg::GetReply> result) {
  auto& st = self->state;
  if (st.answered) return;
  st.answered = true;
  count_answer(st.args, op::get, result ? errc::none : code_of(result.error()),
               self->clock().now());
  if (result)
    st.promise.deliver(std::move(*result));
  else
    st.promise.deliver(std::move(result.error()));
}

void on_vote(get_pointer self, cluster::quorum::state outcome) {
  auto& st = self->state;
  auto& v = *st.votes;
  if (outcome == cluster::quorum::state::succeeded)
    answer(self, make_reply(st.merged));
  else if (outcome == cluster::quorum::state::failed)
    answer(self, st.failed.quorum_lost('r', v.required(), v.successes(), "replied"));
  if (st.answered && v.all_answered()) finish(self);
}

void on_reply(get_pointer self, msg::ReplicaReadReply& reply) {
  auto& st = self->state;
  if (reply.has_object()) {
    auto obj = storage::from_proto(reply.object());
    if (!obj) {
      st.failed.note(reply.replica(), make_error(errc::internal, "sent a malformed object: " +
                                                                     message_of(obj.error())));
      return on_vote(self, st.votes->fail());
    }
    auto how = st.args.lww ? storage::resolution::lww : storage::resolution::causal;
    st.merged = storage::merge(st.merged, *obj, how);
  }
  on_vote(self, st.votes->succeed());
}

caf::result<msg::GetReply> start(get_pointer self, const msg::GetRequest& req) {
  auto& st = self->state;
  st.promise = self->make_response_promise<msg::GetReply>();
  st.votes.emplace(static_cast<uint32_t>(st.args.targets.size()), st.args.plan.required);
  msg::ReplicaReadRequest read;
  read.set_partition(st.args.partition);
  read.set_ns(st.args.ns);
  read.set_key(req.key());
  for (auto& target : st.args.targets) {
    self->request(target.replica, caf::infinite, read)
        .then([self](msg::ReplicaReadReply& reply) { on_reply(self, reply); },
              [self, name = target.name](caf::error& err) {
                self->state.failed.note(name, err);
                on_vote(self, self->state.votes->fail());
              });
  }
  return st.promise;
}

void on_deadline(get_pointer self) {
  auto& st = self->state;
  answer(self, deadline_passed(st.args, 'r', st.votes ? st.votes->successes() : 0, "replied"));
  finish(self);
}

get_fsm_actor::behavior_type get_fsm(get_pointer self, fsm_args args) {
  shield(self, "get_fsm");
  self->state.args = std::move(args);
  return {
      [self](const msg::GetRequest& req) { return start(self, req); },
      [self](deadline_atom) { on_deadline(self); },
      [self](orphan_atom) { keep_own_deadline(self, self->state.args.deadline); },
  };
}

}  // namespace

get_fsm_actor spawn_get_fsm(caf::local_actor* parent, fsm_args args) {
  return parent->spawn(get_fsm, std::move(args));
}

}  // namespace kv::actors
