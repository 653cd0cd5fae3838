#include "actors/net/peer_link.hpp"

#include <unordered_map>

#include "actors/net/batching.hpp"
#include "actors/net/shield.hpp"
#include "actors/node/log.hpp"
#include "caf/all.hpp"
#include "messages/errc.hpp"

namespace kv::actors {
namespace {

struct waiting_call {
  caf::response_promise promise;
  caf::actor_clock::time_point deadline;
};

struct link_state {
  node_actor front;
  std::string peer;
  std::shared_ptr<node_metrics> metrics;  // counts the batches sent, when given
  outgoing<msg::ReplicaBatch> queued;
  assembler pieces{0};  // results that come back in pieces
  bool flush_queued = false;
  bool tick_queued = false;  // a check of the deadlines is scheduled
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, waiting_call> waiting;  // queued or sent, by call id

  static inline const char* name = "peer_link";
};

using link_pointer = peer_link_actor::stateful_pointer<link_state>;

void set_call(msg::ReplicaCall& call, msg::ReplicaWriteRequest&& req) {
  *call.mutable_write() = std::move(req);
}

void set_call(msg::ReplicaCall& call, msg::ReplicaReadRequest&& req) {
  *call.mutable_read() = std::move(req);
}

void set_call(msg::ReplicaCall& call, msg::TreeRequest&& req) {
  *call.mutable_tree() = std::move(req);
}

void send_queued(link_pointer self) {
  auto& st = self->state;
  if (!st.queued.empty()) self->send(st.front, st.queued.take());
}

// Schedules the next check of the deadlines, unless one is scheduled already.
void schedule_expiry(link_pointer self) {
  auto& st = self->state;
  if (st.tick_queued) return;
  st.tick_queued = true;
  self->delayed_send(self, deadline_check_interval, tick_atom::value);
}

template <class Request>
caf::response_promise enqueue(link_pointer self, Request& req) {
  auto& st = self->state;
  auto size = req.ByteSizeLong();
  auto id = st.next_id++;
  if (size > max_piece_bytes) {
    msg::ReplicaCall call;
    call.set_id(id);
    set_call(call, std::move(req));
    queue_pieces(st.queued, id, call.SerializeAsString(), [self](msg::ReplicaBatch batch) {
      self->send(self->state.front, std::move(batch));
    });
  } else {
    if (st.queued.full_for(size)) send_queued(self);
    auto& call = *st.queued.next(size).add_calls();
    call.set_id(id);
    set_call(call, std::move(req));
  }
  auto promise = self->make_response_promise();
  st.waiting.emplace(id, waiting_call{promise, self->clock().now() + peer_call_deadline});
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, flush_atom::value);
  }
  schedule_expiry(self);
  return promise;
}

// Fails the calls past their deadline. Their call or its result was lost on the way: a
// connection that dropped and came back while the peer's front stayed the same proxy (CAF
// then neither delivers nor fails), or a peer that took the call and never answered it.
void expire(link_pointer self) {
  auto& st = self->state;
  st.tick_queued = false;
  auto now = self->clock().now();
  for (auto i = st.waiting.begin(); i != st.waiting.end();) {
    if (i->second.deadline > now) {
      ++i;
      continue;
    }
    i->second.promise.deliver(
        make_error(errc::timeout, st.peer + " did not answer a call within " +
                                      std::to_string(peer_call_deadline.count()) +
                                      " s; it may or may not have been applied"));
    i = st.waiting.erase(i);
  }
  if (!st.waiting.empty()) schedule_expiry(self);
}

void deliver(link_state& st, msg::ReplicaResult& result) {
  auto i = st.waiting.find(result.id());
  if (i == st.waiting.end()) return;
  auto promise = std::move(i->second.promise);
  st.waiting.erase(i);
  switch (result.result_case()) {
    case msg::ReplicaResult::kWrite:
      promise.deliver(std::move(*result.mutable_write()));
      break;
    case msg::ReplicaResult::kRead:
      promise.deliver(std::move(*result.mutable_read()));
      break;
    case msg::ReplicaResult::kTree:
      promise.deliver(std::move(*result.mutable_tree()));
      break;
    case msg::ReplicaResult::kError:
      promise.deliver(from_wire(result.error()));
      break;
    default:
      promise.deliver(make_error(errc::internal, st.peer + " sent an empty result"));
  }
}

// A result in pieces: delivered once whole.
void assemble(link_state& st, const msg::Piece& piece) {
  auto whole = st.pieces.add(0, piece);
  if (!whole) {
    if (auto i = st.waiting.find(piece.id()); i != st.waiting.end()) {
      i->second.promise.deliver(whole.error());
      st.waiting.erase(i);
    }
    return;
  }
  if (!*whole) return;
  msg::ReplicaResult result;
  if (!result.ParseFromString(**whole))
    result.mutable_error()->set_message(st.peer + " sent a result in pieces that does not parse");
  result.set_id(piece.id());
  deliver(st, result);
}

void fail_all(link_state& st, const caf::error& err) {
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& [id, call] : waiting) call.promise.deliver(err);
}

peer_link_actor::behavior_type peer_link(link_pointer self, node_actor front, std::string peer,
                                         uint64_t max_message_bytes, caf::actor owner,
                                         std::shared_ptr<node_metrics> metrics) {
  shield(self, "peer_link", [](caf::scheduled_actor* ptr, caf::exit_msg& msg) {
    auto self = static_cast<link_pointer>(ptr);
    fail_all(self->state, make_error(errc::unavailable, "the link to " + self->state.peer +
                                                            " closed: " + describe(msg.reason)));
    self->quit(std::move(msg.reason));
  });
  auto& st = self->state;
  st.front = std::move(front);
  st.peer = std::move(peer);
  st.pieces = assembler{max_message_bytes};
  st.metrics = std::move(metrics);
  if (st.metrics) st.queued = outgoing<msg::ReplicaBatch>{&st.metrics->calls_out};
  self->monitor(st.front);
  if (owner) self->monitor(owner);
  self->set_down_handler([self, owner = caf::actor_addr{owner.address()}](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.front.address())
      fail_all(st, make_error(errc::unavailable, st.peer + " became unreachable"));
    else if (dm.source == owner)
      fail_all(st, make_error(errc::unavailable, "the link to " + st.peer + " closed"));
    else
      return;
    self->quit();
  });
  return {
      [self](msg::ReplicaWriteRequest& req) -> caf::result<msg::ReplicaWriteReply> {
        return enqueue(self, req);
      },
      [self](msg::ReplicaReadRequest& req) -> caf::result<msg::ReplicaReadReply> {
        return enqueue(self, req);
      },
      [self](msg::TreeRequest& req) -> caf::result<msg::TreeReply> { return enqueue(self, req); },
      [self](msg::ReplicaResults& results) {
        auto& st = self->state;
        if (self->current_sender() == nullptr ||
            self->current_sender()->address() != st.front.address()) {
          log::get("peer_link")->warn("ResultsFromStranger peer={}", st.peer);
          return;
        }
        for (auto& result : *results.mutable_results()) deliver(st, result);
        for (auto& piece : results.pieces()) assemble(st, piece);
      },
      [self](flush_atom) {
        self->state.flush_queued = false;
        send_queued(self);
      },
      [self](tick_atom) { expire(self); },
  };
}

}  // namespace

peer_link_actor spawn_peer_link(caf::local_actor* owner, node_actor front, std::string peer,
                                uint64_t max_message_bytes, std::shared_ptr<node_metrics> metrics) {
  return owner->spawn(peer_link, std::move(front), std::move(peer), max_message_bytes,
                      caf::actor_cast<caf::actor>(owner), std::move(metrics));
}

peer_link_actor spawn_peer_link(caf::actor_system& sys, node_actor front, std::string peer,
                                uint64_t max_message_bytes, std::shared_ptr<node_metrics> metrics) {
  return sys.spawn(peer_link, std::move(front), std::move(peer), max_message_bytes, caf::actor{},
                   std::move(metrics));
}

}  // namespace kv::actors
