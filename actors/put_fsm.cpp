// The put FSM: one client write (put or delete), from the coordinating replica to w acks.
//
//   request ──► coordinate ──(new object)──► replicate ──(w acks)──► answered ──► done
//                   │                            │                      ▲      (all replied,
//                   └── fails / deadline ────────┴──────────────────────┘       or deadline)
//
// The coordinating replica (targets[0]) applies the client's write and issues its dot; the
// object it stored is then merged into the other replicas. Acks count toward w, the
// coordinating replica's included. Replies after the answer are consumed quietly.
#include <optional>

#include "actors/fsm.hpp"
#include "actors/log.hpp"
#include "caf/all.hpp"
#include "cluster/quorum.hpp"
#include "messages/errc.hpp"

namespace kv::actors {
namespace {

struct put_state {
  fsm_args args;
  std::optional<cluster::quorum> votes;
  caf::response_promise promise;
  bool is_delete = false;
  bool answered = false;
  bool done = false;
  std::string seen;    // context token for the client once acknowledged
  std::string errors;  // why replicas failed, for the error message

  static inline const char* name = "put_fsm";
};

using put_pointer = put_fsm_actor::stateful_pointer<put_state>;

void finish_if_done(put_pointer self) {
  auto& st = self->state;
  if (st.done || !st.answered || !st.votes->all_answered()) return;
  st.done = true;
  self->send(st.args.coordinator, fsm_done_atom::value, st.args.id);
  self->quit();
}

void answer(put_pointer self, caf::error err) {
  auto& st = self->state;
  if (st.answered) return;
  st.answered = true;
  count_answer(st.args, st.is_delete ? op::del : op::put, code_of(err), self->clock().now());
  if (err) {
    st.promise.deliver(std::move(err));
  } else if (st.is_delete) {
    msg::DeleteReply reply;
    reply.set_context(st.seen);
    st.promise.deliver(std::move(reply));
  } else {
    msg::PutReply reply;
    reply.set_context(st.seen);
    st.promise.deliver(std::move(reply));
  }
}

void on_vote(put_pointer self, cluster::quorum::state outcome) {
  auto& st = self->state;
  if (outcome == cluster::quorum::state::succeeded) {
    answer(self, caf::none);
  } else if (outcome == cluster::quorum::state::failed) {
    auto& v = *st.votes;
    answer(self, make_error(errc::unavailable,
                            quorum_text('w', v.required(), v.successes(), "acknowledged") +
                                " (" + st.errors + ")"));
  }
  finish_if_done(self);
}

void note_failure(put_pointer self, const fsm_target& target, const caf::error& err) {
  auto& st = self->state;
  if (!st.errors.empty()) st.errors += "; ";
  st.errors += target.name + ": " + describe(err);
}

void replicate(put_pointer self, const msg::Object& object) {
  auto& st = self->state;
  for (size_t i = 1; i < st.args.targets.size(); ++i) {
    auto& target = st.args.targets[i];
    msg::ReplicaWriteRequest req;
    req.set_partition(st.args.partition);
    req.set_ns(st.args.ns);
    req.set_key(st.args.key);
    req.set_lww(st.args.lww);
    *req.mutable_merge() = object;
    self->request(target.replica, caf::infinite, std::move(req))
        .then([self](msg::ReplicaWriteReply&) { on_vote(self, self->state.votes->succeed()); },
              [self, target](caf::error& err) {
                note_failure(self, target, err);
                on_vote(self, self->state.votes->fail());
              });
  }
}

// The coordinating replica failed: no other replica has the write, so every one counts as
// failed, and the client learns the coordinating replica's error.
void coordinate_failed(put_pointer self, const caf::error& err) {
  auto& st = self->state;
  note_failure(self, st.args.targets.front(), err);
  for (size_t i = 0; i < st.args.targets.size(); ++i) st.votes->fail();
  auto code = code_of(err);
  if (code == errc::invalid_argument || code == errc::internal)
    answer(self, err);
  else
    on_vote(self, cluster::quorum::state::failed);
  finish_if_done(self);
}

template <class Request>
caf::response_promise start(put_pointer self, Request& req, msg::NewVersion version) {
  auto& st = self->state;
  st.promise = self->make_response_promise();
  st.votes.emplace(static_cast<uint32_t>(st.args.targets.size()), st.args.plan.required);
  version.set_timestamp_ms(st.args.now_ms());
  *version.mutable_context() = std::move(st.args.context);
  msg::ReplicaWriteRequest write;
  write.set_partition(st.args.partition);
  write.set_ns(st.args.ns);
  write.set_key(req.key());
  write.set_lww(st.args.lww);
  *write.mutable_create() = std::move(version);
  self->request(st.args.targets.front().replica, caf::infinite, std::move(write))
      .then(
          [self](msg::ReplicaWriteReply& reply) {
            self->state.seen = reply.seen().SerializeAsString();
            replicate(self, reply.object());
            on_vote(self, self->state.votes->succeed());
          },
          [self](caf::error& err) { coordinate_failed(self, err); });
  return st.promise;
}

void on_deadline(put_pointer self) {
  auto& st = self->state;
  if (st.done) return;
  st.done = true;
  answer(self, make_error(errc::timeout,
                          "deadline of " + std::to_string(st.args.timeout.count()) +
                              " ms passed; " +
                              quorum_text('w', st.args.plan.required,
                                          st.votes ? st.votes->successes() : 0, "acknowledged") +
                              "; the write may or may not have been applied"));
  self->send(st.args.coordinator, fsm_done_atom::value, st.args.id);
  self->quit();
}

put_fsm_actor::behavior_type put_fsm(put_pointer self, fsm_args args) {
  self->state.args = std::move(args);
  return {
      [self](msg::PutRequest& req) -> caf::result<msg::PutReply> {
        msg::NewVersion version;
        version.set_value(req.value());
        return start(self, req, std::move(version));
      },
      [self](msg::DeleteRequest& req) -> caf::result<msg::DeleteReply> {
        self->state.is_delete = true;
        msg::NewVersion version;
        version.set_deleted(true);
        return start(self, req, std::move(version));
      },
      [self](deadline_atom) { on_deadline(self); },
      [self](orphan_atom) {
        auto left = self->state.args.deadline - self->clock().now();
        self->delayed_send(self, std::max(left, caf::timespan{0}), deadline_atom::value);
      },
  };
}

}  // namespace

put_fsm_actor spawn_put_fsm(caf::local_actor* parent, fsm_args args) {
  return parent->spawn(put_fsm, std::move(args));
}

void count_answer(const fsm_args& args, op kind, errc code, caf::actor_clock::time_point now) {
  if (args.metrics)
    args.metrics->answered(kind, code,
                           std::chrono::duration_cast<std::chrono::microseconds>(now - args.started));
}

std::string quorum_text(char what, uint32_t required, uint32_t got, const char* verb) {
  return std::string(1, what) + "=" + std::to_string(required) + " needs " +
         std::to_string(required) + (required == 1 ? " replica, " : " replicas, ") +
         std::to_string(got) + " " + verb;
}

}  // namespace kv::actors
