// The put FSM: one client write (put or delete), from the coordinating replica to w acks.
//
//   request ──► coordinate ──(new object)──► replicate ──(w acks)──► answered ──► done
//                   │                            │                      ▲      (all replied,
//                   └── fails / deadline ────────┴──────────────────────┘       or deadline)
//
// The coordinating replica (targets[0], this node's own when it holds the key) applies the
// client's write and issues its dot; the object it stored is then merged into the other
// replicas in parallel. The coordinating replica must come first: a dot is only ever issued by
// the replica that has seen every earlier dot of its actor for the key. Acks count toward w,
// the coordinating replica's included. Replies after the answer are consumed quietly.
#include <algorithm>
#include <optional>

#include "actors/fsm.hpp"
#include "actors/net/shield.hpp"
#include "caf/all.hpp"
#include "cluster/quorum.hpp"
#include "messages/errc.hpp"
#include "storage/codec.hpp"

namespace kv::actors {
namespace {

struct put_state {
  fsm_args args;
  std::optional<cluster::quorum> votes;
  std::vector<target_state> targets;  // like args.targets
  std::vector<uint32_t> attempts;     // like args.targets: requests sent to the slot so far
  caf::response_promise promise;
  bool is_delete = false;
  bool answered = false;
  bool done = false;
  std::string seen;    // context token for the client once acknowledged
  msg::Object object;  // what the coordinating replica stored, for the others
  failures failed;

  static inline const char* name = "put_fsm";
};

using put_pointer = put_fsm_actor::stateful_pointer<put_state>;

void finish(put_pointer self) {
  auto& st = self->state;
  if (st.done) return;
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
  auto& v = *st.votes;
  if (outcome == cluster::quorum::state::succeeded)
    answer(self, caf::none);
  else if (outcome == cluster::quorum::state::failed)
    answer(self, st.failed.quorum_lost('w', v.required(), v.successes(), "acknowledged"));
  if (st.answered && v.all_answered()) finish(self);
}

// Target i answered; false if its answer is stale (it was already counted as failed).
bool settle(put_state& st, size_t i, target_state outcome) {
  if (st.targets[i] != target_state::pending) return false;
  st.targets[i] = outcome;
  return true;
}

msg::ReplicaWriteRequest replica_write(const fsm_args& args, const std::string& key) {
  msg::ReplicaWriteRequest req;
  req.set_partition(args.partition);
  req.set_ns(args.ns);
  req.set_key(key);
  req.set_lww(args.lww);
  return req;
}

void send_to(put_pointer self, size_t i);

// The next spare fallback takes slot i, holding the write for the member the slot is for.
void take_fallback(put_state& st, size_t i) {
  auto& slot = st.args.targets[i];
  auto owner = slot.hint_for.empty() ? slot.node : slot.hint_for;
  auto spare = std::move(st.args.fallbacks.front());
  st.args.fallbacks.erase(st.args.fallbacks.begin());
  spare.hint_for = owner;
  spare.name += " (for " + owner + ")";
  slot = std::move(spare);
}

// Target i failed: a spare fallback takes its place, else the failure counts.
void replica_failed(put_pointer self, size_t i, const caf::error& err) {
  auto& st = self->state;
  if (st.targets[i] != target_state::pending) return;
  st.failed.note(st.args.targets[i].name, err);
  if (!st.args.fallbacks.empty()) {
    take_fallback(st, i);
    send_to(self, i);
    return;
  }
  st.targets[i] = target_state::failed;
  on_vote(self, st.votes->fail());
}

void send_to(put_pointer self, size_t i) {
  auto& st = self->state;
  auto req = replica_write(st.args, st.args.key);
  *req.mutable_merge() = st.object;
  req.set_hint_for(st.args.targets[i].hint_for);
  st.targets[i] = target_state::pending;
  auto attempt = ++st.attempts[i];
  self->request(st.args.targets[i].replica, caf::infinite, std::move(req))
      .then(
          [self, i](msg::ReplicaWriteReply&) {
            if (settle(self->state, i, target_state::answered))
              on_vote(self, self->state.votes->succeed());
          },
          [self, i, attempt](caf::error& err) {
            if (attempt == self->state.attempts[i]) replica_failed(self, i, err);
          });
}

// Replicas that have not answered by now get a spare fallback beside them.
void on_hurry(put_pointer self) {
  auto& st = self->state;
  if (st.answered || st.targets[0] != target_state::answered) return;  // not replicating yet
  for (size_t i = 1; i < st.targets.size() && !st.args.fallbacks.empty(); ++i) {
    if (st.targets[i] != target_state::pending) continue;
    st.failed.note(st.args.targets[i].name,
                   make_error(errc::timeout, "slow; a fallback took over"));
    take_fallback(st, i);
    send_to(self, i);
  }
}

void replicate(put_pointer self, const msg::Object& object) {
  auto& st = self->state;
  st.object = object;
  for (size_t i = 1; i < st.args.targets.size(); ++i) send_to(self, i);
}

// The coordinating replica failed: no other replica has the write, so every one counts as
// failed. A request the replica found invalid or too large is answered with its error as is.
void coordinate_failed(put_pointer self, const caf::error& err) {
  auto& st = self->state;
  if (!settle(st, 0, target_state::failed)) return;
  if (code_of(err) == errc::invalid_argument || code_of(err) == errc::too_large) answer(self, err);
  st.failed.note(st.args.targets.front().name, err);
  for (size_t i = 0; i < st.args.targets.size(); ++i) st.votes->fail();
  on_vote(self, cluster::quorum::state::failed);
}

// The context handed back to the client: what the coordinating replica says the writer has
// now seen, within the token limits (the client's context plus one dot can pass them). Entries
// and exact dots count alike toward them.
std::string client_token(const fsm_args& args, const msg::ReplicaWriteReply& reply) {
  const auto& wire = reply.seen();
  auto plausible = [](const auto& event) { return event.counter() < storage::max_counter; };
  bool within = static_cast<size_t>(wire.entries_size()) + static_cast<size_t>(wire.dots_size()) <=
                    args.token.max_entries &&
                std::all_of(wire.entries().begin(), wire.entries().end(), plausible) &&
                std::all_of(wire.dots().begin(), wire.dots().end(), plausible);
  if (within) return wire.SerializeAsString();
  auto seen = storage::from_proto(wire);
  if (!seen) return {};  // ignored: an empty token only makes the next write a blind one
  std::vector<storage::sibling> held;  // their dots and actors are what the token keeps last
  for (const auto& s : reply.object().siblings())
    held.push_back({{s.dot().actor(), s.dot().counter()}, {}, false, 0});
  return storage::encode_context(storage::client_context(std::move(*seen), held, args.token));
}

void coordinated(put_pointer self, msg::ReplicaWriteReply& reply) {
  auto& st = self->state;
  if (!settle(st, 0, target_state::answered)) return;
  st.seen = client_token(st.args, reply);
  replicate(self, reply.object());
  on_vote(self, st.votes->succeed());
}

template <class Request>
caf::response_promise start(put_pointer self, Request& req, msg::NewVersion version) {
  auto& st = self->state;
  st.promise = self->make_response_promise();
  st.votes.emplace(static_cast<uint32_t>(st.args.targets.size()), st.args.plan.required);
  st.targets.assign(st.args.targets.size(), target_state::idle);
  st.attempts.assign(st.args.targets.size(), 0);
  version.set_timestamp_ms(st.args.now_ms());
  version.set_max_object_bytes(st.args.max_object_bytes);
  version.set_max_siblings(st.args.max_siblings);
  *version.mutable_context() = std::move(st.args.context);
  auto write = replica_write(st.args, req.key());
  *write.mutable_create() = std::move(version);
  st.targets[0] = target_state::pending;
  self->request(st.args.targets.front().replica, caf::infinite, std::move(write))
      .then([self](msg::ReplicaWriteReply& reply) { coordinated(self, reply); },
            [self](caf::error& err) { coordinate_failed(self, err); });
  return st.promise;
}

void on_deadline(put_pointer self) {
  auto& st = self->state;
  answer(self, deadline_passed(st.args, 'w', st.votes ? st.votes->successes() : 0, "acknowledged"));
  finish(self);
}

put_fsm_actor::behavior_type put_fsm(put_pointer self, fsm_args args) {
  shield(self, "put_fsm");
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
      [self](orphan_atom) { keep_own_deadline(self, self->state.args.deadline); },
      [self](hurry_atom) { on_hurry(self); },
  };
}

}  // namespace

put_fsm_actor spawn_put_fsm(caf::local_actor* parent, fsm_args args) {
  return parent->spawn(put_fsm, std::move(args));
}

}  // namespace kv::actors
