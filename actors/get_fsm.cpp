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
  std::string errors;

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

void on_vote(get_pointer self, cluster::quorum::state outcome) {
  auto& st = self->state;
  if (!st.answered && outcome == cluster::quorum::state::succeeded) {
    st.answered = true;
    count_answer(st.args, op::get, errc::none, self->clock().now());
    st.promise.deliver(make_reply(st.merged));
  } else if (!st.answered && outcome == cluster::quorum::state::failed) {
    st.answered = true;
    count_answer(st.args, op::get, errc::unavailable, self->clock().now());
    auto& v = *st.votes;
    st.promise.deliver(make_error(
        errc::unavailable,
        quorum_text('r', v.required(), v.successes(), "replied") + " (" + st.errors + ")"));
  }
  if (st.answered && st.votes->all_answered()) finish(self);
}

void on_reply(get_pointer self, msg::ReplicaReadReply& reply) {
  auto& st = self->state;
  if (reply.has_object()) {
    auto obj = storage::from_proto(reply.object());
    if (!obj) {
      st.errors += (st.errors.empty() ? "" : "; ") + reply.replica() + ": " + describe(obj.error());
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
                auto& errors = self->state.errors;
                errors += (errors.empty() ? "" : "; ") + name + ": " + describe(err);
                on_vote(self, self->state.votes->fail());
              });
  }
  return st.promise;
}

void on_deadline(get_pointer self) {
  auto& st = self->state;
  if (!st.answered) {
    st.answered = true;
    count_answer(st.args, op::get, errc::timeout, self->clock().now());
    st.promise.deliver(make_error(
        errc::timeout, "deadline of " + std::to_string(st.args.timeout.count()) + " ms passed; " +
                           quorum_text('r', st.args.plan.required,
                                       st.votes ? st.votes->successes() : 0, "replied")));
  }
  finish(self);
}

get_fsm_actor::behavior_type get_fsm(get_pointer self, fsm_args args) {
  self->state.args = std::move(args);
  return {
      [self](const msg::GetRequest& req) { return start(self, req); },
      [self](deadline_atom) { on_deadline(self); },
      [self](orphan_atom) {
        auto left = self->state.args.deadline - self->clock().now();
        self->delayed_send(self, std::max(left, caf::timespan{0}), deadline_atom::value);
      },
  };
}

}  // namespace

get_fsm_actor spawn_get_fsm(caf::local_actor* parent, fsm_args args) {
  return parent->spawn(get_fsm, std::move(args));
}

}  // namespace kv::actors
