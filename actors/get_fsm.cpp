// The get FSM: one client read, answered once r replicas replied, then read repair.
//
//   request ──► read all n replicas ──(r replies)──► answered ──(all replied, or deadline)──►
//                      │                               ▲          repair the stale ──► done
//                      └── too many fail / deadline ───┘
//
// Replies merge into one object by version vector, so the client sees every sibling any of
// the r replicas holds and one context covering them all. Once every replica has answered (or
// the deadline passed), each replica whose answer differs from the merged object receives it,
// so replicas that were behind catch up on reads. Replies after the answer are consumed quietly.
#include <optional>

#include "actors/fsm.hpp"
#include "actors/net/shield.hpp"
#include "actors/node/log.hpp"
#include "caf/all.hpp"
#include "cluster/quorum.hpp"
#include "messages/errc.hpp"
#include "storage/codec.hpp"
#include "storage/gc.hpp"

namespace kv::actors {
namespace {

struct get_state {
  fsm_args args;
  std::optional<cluster::quorum> votes;
  std::vector<target_state> targets;                 // like args.targets
  std::vector<std::optional<storage::object>> held;  // what each answering replica holds
  caf::typed_response_promise<msg::GetReply> promise;
  storage::object merged;
  bool answered = false;
  bool done = false;
  failures failed;

  static inline const char* name = "get_fsm";
};

using get_pointer = get_fsm_actor::stateful_pointer<get_state>;

storage::resolution how(const fsm_args& args) {
  return args.lww ? storage::resolution::lww : storage::resolution::causal;
}

// Sends the merged object to every replica that answered with something else. Fire and
// forget: the FSM is gone before their acks, and a replica that misses this catches up later.
// When the replicas agree (the common case) nothing is built.
void repair(get_pointer self) {
  auto& st = self->state;
  if (st.merged.empty()) return;
  std::optional<msg::ReplicaWriteRequest> req;
  size_t repaired = 0;
  for (size_t i = 0; i < st.targets.size(); ++i) {
    if (st.targets[i] != target_state::answered) continue;
    if (st.held[i] && *st.held[i] == st.merged) continue;
    if (!req) {
      req.emplace();
      req->set_partition(st.args.partition);
      req->set_ns(st.args.ns);
      req->set_key(st.args.key);
      req->set_lww(st.args.lww);
      storage::to_proto(st.merged, *req->mutable_merge());
    }
    caf::anon_send(st.args.targets[i].replica, *req);
    ++repaired;
  }
  if (repaired > 0)
    log::get("get_fsm")->debug("ReadRepair partition={} replicas={}", st.args.partition, repaired);
}

void finish(get_pointer self) {
  auto& st = self->state;
  if (st.done) return;
  st.done = true;
  repair(self);
  self->send(st.args.coordinator, fsm_done_atom::value, st.args.id);
  self->quit();
}

// The merged object as the client sees it: without versions past the namespace's TTL, but
// with the whole context, so that the client's next write supersedes those too.
msg::GetReply make_reply(const fsm_args& args, const storage::object& obj) {
  msg::GetReply reply;
  msg::Object proto;
  if (args.ttl_ms > 0)
    storage::to_proto(storage::object::from_parts(storage::visible(obj, args.ttl_ms, args.now_ms()),
                                                  obj.context()),
                      proto);
  else
    storage::to_proto(obj, proto);
  reply.mutable_siblings()->Swap(proto.mutable_siblings());
  reply.set_context(
      storage::encode_context(storage::client_context(obj.context(), obj.siblings(), args.token)));
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
    answer(self, make_reply(st.args, st.merged));
  else if (outcome == cluster::quorum::state::failed)
    answer(self, st.failed.quorum_lost('r', v.required(), v.successes(), "replied"));
  if (st.answered && v.all_answered()) finish(self);
}

void replica_failed(get_pointer self, size_t i, const caf::error& err) {
  auto& st = self->state;
  if (st.targets[i] != target_state::pending) return;
  st.targets[i] = target_state::failed;
  st.failed.note(st.args.targets[i].name, err);
  on_vote(self, st.votes->fail());
}

void on_reply(get_pointer self, size_t i, msg::ReplicaReadReply& reply) {
  auto& st = self->state;
  if (st.targets[i] != target_state::pending) return;
  if (reply.has_object()) {
    auto obj = storage::from_proto(reply.object());
    if (!obj)
      return replica_failed(
          self, i,
          make_error(errc::internal, "sent a malformed object: " + message_of(obj.error())));
    st.merged = storage::merge(st.merged, *obj, how(st.args));
    st.held[i] = std::move(*obj);
  }
  st.targets[i] = target_state::answered;
  on_vote(self, st.votes->succeed());
}

caf::result<msg::GetReply> start(get_pointer self, const msg::GetRequest& req) {
  auto& st = self->state;
  st.promise = self->make_response_promise<msg::GetReply>();
  st.votes.emplace(static_cast<uint32_t>(st.args.targets.size()), st.args.plan.required);
  st.targets.assign(st.args.targets.size(), target_state::pending);
  st.held.resize(st.args.targets.size());
  msg::ReplicaReadRequest read;
  read.set_partition(st.args.partition);
  read.set_ns(st.args.ns);
  read.set_key(req.key());
  for (size_t i = 0; i < st.args.targets.size(); ++i) {
    self->request(st.args.targets[i].replica, caf::infinite, read)
        .then([self, i](msg::ReplicaReadReply& reply) { on_reply(self, i, reply); },
              [self, i](caf::error& err) { replica_failed(self, i, err); });
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
