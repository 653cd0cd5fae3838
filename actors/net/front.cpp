#include "actors/net/front.hpp"

#include <chrono>
#include <map>
#include <type_traits>

#include "actors/net/batching.hpp"
#include "actors/net/shield.hpp"
#include "actors/node/log.hpp"
#include "actors/node/registry.hpp"
#include "actors/replica.hpp"
#include "caf/all.hpp"
#include "messages/errc.hpp"

namespace kv::actors {
namespace {

using steady = std::chrono::steady_clock;

// Results waiting for the next flush to one receiver.
template <class Sink, class Results>
struct outbox {
  Sink sink;
  outgoing<Results> pending;
};

// Messages the front does not serve are logged at most once a second, each line with the number
// held back since the one before: a peer sending thousands must not flood the log. The counter
// (ringkv_listener_refused_total{listener="peer"}) has them all.
struct unexpected_log {
  std::shared_ptr<spdlog::logger> log = log::get("port");
  steady::time_point last{};
  bool logged = false;
  uint64_t held_back = 0;
};

struct front_state {
  std::shared_ptr<registry> reg;
  node_config cfg;
  std::shared_ptr<node_metrics> metrics;  // counts the batches of results, when given
  std::map<caf::actor_addr, outbox<replica_results_sink, msg::ReplicaResults>> to_peers;
  bool flush_queued = false;
  // Calls arriving in pieces, by sender; a sender is monitored from its first piece on, and
  // what it sent is dropped when it goes.
  assembler pieces{0};
  std::map<caf::actor_addr, uint64_t> piece_senders;
  uint64_t next_piece_sender = 1;
  unexpected_log unexpected;

  static inline const char* name = "port";
};

using front_pointer = node_actor::stateful_pointer<front_state>;

// -- results of batches -------------------------------------------------------------------------

void set_result(msg::ReplicaResult& r, msg::ReplicaWriteReply&& x) {
  *r.mutable_write() = std::move(x);
}
void set_result(msg::ReplicaResult& r, msg::ReplicaReadReply&& x) {
  *r.mutable_read() = std::move(x);
}
void set_result(msg::ReplicaResult& r, msg::TreeReply&& x) {
  *r.mutable_tree() = std::move(x);
}
template <class Result>
void set_result(Result& r, caf::error&& err) {
  *r.mutable_error() = to_wire(err);
}

size_t size_of(const google::protobuf::MessageLite& x) {
  return x.ByteSizeLong();
}
size_t size_of(const caf::error& err) {
  return message_of(err).size() + 8;
}

void schedule_flush(front_pointer self) {
  if (self->state.flush_queued) return;
  self->state.flush_queued = true;
  self->send(self, flush_atom::value);
}

template <class Boxes>
void send_all(front_pointer self, Boxes& boxes) {
  for (auto& [addr, box] : boxes)
    if (!box.pending.empty()) self->send(box.sink, box.pending.take());
  boxes.clear();
}

// Adds the result of call `id` to what goes to `sink` at the next flush; a result too large
// for one batch goes in pieces.
template <class Value>
void add_result(front_pointer self, const replica_results_sink& sink, uint64_t id, Value&& value) {
  auto size = size_of(value);
  auto& box = self->state.to_peers[sink.address()];
  if (!box.sink) {
    box.sink = sink;
    if (auto& m = self->state.metrics) box.pending = outgoing<msg::ReplicaResults>{&m->results_out};
  }
  if (size > max_piece_bytes) {
    msg::ReplicaResult whole;
    whole.set_id(id);
    set_result(whole, std::forward<Value>(value));
    queue_pieces(
        box.pending, id, whole.SerializeAsString(),
        [self, &box](msg::ReplicaResults batch) { self->send(box.sink, std::move(batch)); });
    schedule_flush(self);
    return;
  }
  if (box.pending.full_for(size)) self->send(box.sink, box.pending.take());
  auto& result = *box.pending.next(size).add_results();
  result.set_id(id);
  set_result(result, std::forward<Value>(value));
  schedule_flush(self);
}

// Sends one call of a batch to `target`; its answer becomes the call's result.
template <class Reply, class Sink, class Handle, class Request>
void forward(front_pointer self, const Sink& sink, uint64_t id, const Handle& target,
             Request&& req) {
  self->request(target, caf::infinite, std::move(req))
      .then([self, sink, id](Reply& reply) { add_result(self, sink, id, std::move(reply)); },
            [self, sink, id](caf::error& err) { add_result(self, sink, id, std::move(err)); });
}

caf::error too_many_calls() {
  return make_error(errc::invalid_argument,
                    "more than " + std::to_string(max_batch_items) + " calls in one batch");
}

void log_unexpected(unexpected_log& u, caf::message_view& x) {
  auto now = steady::now();
  if (u.logged && now - u.last < std::chrono::seconds{1}) {
    ++u.held_back;
    return;
  }
  auto text = caf::to_string(x.copy_content_to_message());
  if (text.size() > 160) text = text.substr(0, 160) + "...";
  u.log->warn("UnexpectedMessage message=\"{}\" held_back={}", text, u.held_back);
  u.last = now;
  u.logged = true;
  u.held_back = 0;
}

// -- batches from peers -------------------------------------------------------------------------

caf::expected<replica_actor> replica_for(const front_state& st, uint32_t partition) {
  if (partition >= st.cfg.partitions)
    return make_error(errc::invalid_argument, "no partition " + std::to_string(partition));
  auto role = replica_role(replica_index(partition, st.cfg.partitions, st.cfg.replica_actors));
  if (auto replica = st.reg->get_as<replica_actor>(role)) return replica;
  return make_error(errc::unavailable, "the " + role + " actor is restarting");
}

template <class Reply, class Request>
void forward_to_replica(front_pointer self, const replica_results_sink& sink, uint64_t id,
                        Request&& req) {
  auto replica = replica_for(self->state, req.partition());
  if (!replica) return add_result(self, sink, id, std::move(replica.error()));
  forward<Reply>(self, sink, id, *replica, std::move(req));
}

void dispatch(front_pointer self, const replica_results_sink& sink, msg::ReplicaCall& call) {
  switch (call.call_case()) {
    case msg::ReplicaCall::kWrite:
      forward_to_replica<msg::ReplicaWriteReply>(self, sink, call.id(),
                                                 std::move(*call.mutable_write()));
      break;
    case msg::ReplicaCall::kRead:
      forward_to_replica<msg::ReplicaReadReply>(self, sink, call.id(),
                                                std::move(*call.mutable_read()));
      break;
    case msg::ReplicaCall::kTree:
      forward_to_replica<msg::TreeReply>(self, sink, call.id(), std::move(*call.mutable_tree()));
      break;
    default:
      add_result(self, sink, call.id(), make_error(errc::invalid_argument, "an empty call"));
  }
}

// The number the assembler knows `sink` by; monitored from its first piece on.
uint64_t piece_sender(front_pointer self, const replica_results_sink& sink) {
  auto& st = self->state;
  auto [i, added] = st.piece_senders.emplace(sink.address(), st.next_piece_sender);
  if (added) {
    ++st.next_piece_sender;
    self->monitor(sink);
  }
  return i->second;
}

// A piece of a call; the call runs once whole.
void assemble(front_pointer self, const replica_results_sink& sink, const msg::Piece& piece) {
  auto whole = self->state.pieces.add(piece_sender(self, sink), piece);
  if (!whole) return add_result(self, sink, piece.id(), std::move(whole.error()));
  if (!*whole) return;
  msg::ReplicaCall call;
  if (!call.ParseFromString(**whole))
    return add_result(self, sink, piece.id(),
                      make_error(errc::invalid_argument, "a call in pieces that does not parse"));
  call.set_id(piece.id());
  dispatch(self, sink, call);
}

void on_replica_batch(front_pointer self, msg::ReplicaBatch& batch) {
  auto sink = caf::actor_cast<replica_results_sink>(self->current_sender());
  if (!sink) return;  // anonymous: nobody to answer
  size_t n = 0;
  for (auto& call : *batch.mutable_calls()) {
    if (++n > max_batch_items)
      add_result(self, sink, call.id(), too_many_calls());
    else
      dispatch(self, sink, call);
  }
  for (auto& piece : batch.pieces()) assemble(self, sink, piece);
}

// A peer that sent pieces went away: what it sent of unfinished calls is dropped.
void on_down(front_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.piece_senders.find(dm.source);
  if (i == st.piece_senders.end()) return;
  st.pieces.drop(i->second);
  st.piece_senders.erase(i);
}

node_actor::behavior_type front(front_pointer self, std::shared_ptr<registry> reg, node_config cfg,
                                std::shared_ptr<std::atomic<uint64_t>> refused,
                                std::shared_ptr<node_metrics> metrics) {
  shield(self, "port");
  // What is not the peers' is refused: answered INVALID_ARGUMENT, counted, and logged (at most
  // once a second).
  self->set_default_handler(
      [self, refused](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        refused->fetch_add(1, std::memory_order_relaxed);
        log_unexpected(self->state.unexpected, x);
        return make_error(errc::invalid_argument,
                          "not served on the peer listener (--peer-listen), which serves only "
                          "other nodes");
      });
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  self->state.reg = std::move(reg);
  self->state.cfg = std::move(cfg);
  self->state.metrics = std::move(metrics);
  self->state.pieces = assembler{self->state.cfg.max_peer_message_bytes};
  return {
      [self](msg::GossipRequest& req) -> caf::result<msg::GossipReply> {
        auto gossip = self->state.reg->get_as<gossip_actor>("gossip");
        if (!gossip) return make_error(errc::unavailable, "the gossip actor is restarting");
        return self->delegate(gossip, std::move(req));
      },
      [self](msg::ReplicaBatch& batch) { on_replica_batch(self, batch); },
      [self](flush_atom) {
        self->state.flush_queued = false;
        send_all(self, self->state.to_peers);
      },
  };
}

}  // namespace

node_actor spawn_front(caf::actor_system& sys, std::shared_ptr<registry> reg, node_config cfg,
                       std::shared_ptr<std::atomic<uint64_t>> refused,
                       std::shared_ptr<node_metrics> metrics) {
  return sys.spawn(front, std::move(reg), std::move(cfg), std::move(refused), std::move(metrics));
}

}  // namespace kv::actors
