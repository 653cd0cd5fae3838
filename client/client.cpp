#include "client/client.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_map>

#include "actors/net/batching.hpp"
#include "actors/net/host_port.hpp"
#include "actors/net/shield.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "storage/codec.hpp"

namespace kv::client {

namespace {

using tick_atom = actors::tick_atom;
using time_point = caf::actor_clock::time_point;

using flush_atom = actors::flush_atom;

// The client's own interface: the node's, plus its deadline tick and the batches' results.
using client_impl = client_actor::extend<caf::reacts_to<tick_atom>, caf::reacts_to<flush_atom>,
                                         caf::reacts_to<msg::ClientResults>>;

// A request waiting for its answer. Puts, gets and deletes travel in batches (actors/
// batching.hpp): `call` is the request until it is queued, `result` delivers its result to the
// requester. Anything else is sent on its own: `send` sends it to the connected node and
// delivers what comes back. `fail` answers the requester with an error instead.
struct pending {
  std::optional<msg::ClientCall> call;
  std::function<void(msg::ClientResult&)> result;
  std::function<void(const client_actor& node, uint64_t id)> send;
  std::function<void(caf::error)> fail;
  time_point deadline;
  bool sent = false;
};

struct client_state {
  client_config cfg;
  client_actor node;  // null while not connected
  size_t next_node = 0;
  bool connecting = false;
  size_t refusals = 0;             // connection attempts refused in a row
  std::string last_connect_error;  // why the last attempt failed, for requests never sent
  time_point retry_at;             // no new attempt before this (after a failed one)
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, pending> in_flight;
  actors::outgoing<msg::ClientBatch> queued;  // calls for the next flush
  bool flush_queued = false;
  std::priority_queue<std::pair<time_point, uint64_t>, std::vector<std::pair<time_point, uint64_t>>,
                      std::greater<>>
      deadlines;
  bool tick_queued = false;

  static inline const char* name = "ringkv_client";
};

using client_pointer = client_impl::stateful_pointer<client_state>;

void fail_all(client_pointer self, bool only_sent, const caf::error& err) {
  auto& flights = self->state.in_flight;
  for (auto i = flights.begin(); i != flights.end();) {
    if (only_sent && !i->second.sent) {
      ++i;
      continue;
    }
    auto fail = std::move(i->second.fail);
    i = flights.erase(i);
    fail(err);
  }
}

void send_queued(client_pointer self) {
  auto& st = self->state;
  if (st.queued.empty()) return;
  auto batch = st.queued.take();
  if (st.node) self->send(caf::actor_cast<actors::client_batch_sink>(st.node), std::move(batch));
}

// Sends `p` to the connected node: a call joins the batch of the next flush.
void send(client_pointer self, uint64_t id, pending& p) {
  auto& st = self->state;
  p.sent = true;
  if (!p.call) return p.send(st.node, id);
  auto size = p.call->ByteSizeLong();
  if (st.queued.full_for(size)) send_queued(self);
  auto& call = *st.queued.next(size).add_calls();
  call = std::move(*p.call);
  call.set_id(id);
  p.call.reset();
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, flush_atom::value);
  }
}

void send_unsent(client_pointer self) {
  for (auto& [id, p] : self->state.in_flight)
    if (!p.sent) send(self, id, p);
}

void on_results(client_pointer self, msg::ClientResults& results) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (!st.node || !sender || sender->address() != st.node.address()) return;
  for (auto& result : *results.mutable_results()) {
    auto i = st.in_flight.find(result.id());
    if (i == st.in_flight.end()) continue;  // answered already: its deadline passed
    auto deliver = std::move(i->second.result);
    st.in_flight.erase(i);
    deliver(result);
  }
}

void connect(client_pointer self);

bool has_unsent(const client_state& st) {
  for (auto& [id, p] : st.in_flight)
    if (!p.sent) return true;
  return false;
}

// A refused connection (nothing listens, or not a ringkv node) fails fast once every node
// refused. Any other failure is tried again 100 ms later while requests wait: CAF gives up on
// a handshake at its first heartbeat tick, so a slow node gets more than one chance before the
// deadline, without hammering a port that accepts and closes.
void on_connect_failed(client_pointer self, const std::string& target, const caf::error& err,
                       bool refused) {
  auto& st = self->state;
  st.connecting = false;
  ++st.next_node;
  st.last_connect_error = "cannot reach " + target + ": " + message_of(err);
  st.refusals = refused ? st.refusals + 1 : 0;
  if (st.refusals >= st.cfg.nodes.size()) {
    st.refusals = 0;
    return fail_all(self, false, make_error(errc::unavailable, st.last_connect_error));
  }
  if (refused) return connect(self);                                   // the next node, at once
  st.retry_at = self->clock().now() + std::chrono::milliseconds{100};  // the tick retries
}

void connect(client_pointer self) {
  auto& st = self->state;
  if (st.connecting || st.node) return;
  st.connecting = true;
  auto target = st.cfg.nodes[st.next_node % st.cfg.nodes.size()];
  auto hp = actors::parse_host_port(target);
  if (!hp) return on_connect_failed(self, target, hp.error(), true);
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, st.cfg.connect_timeout, caf::connect_atom::value, hp->host, hp->port)
      .then(
          [self, target](const caf::node_id&, caf::strong_actor_ptr& ptr,
                         const std::set<std::string>& interface) {
            auto& st = self->state;
            if (!ptr)
              return on_connect_failed(self, target,
                                       make_error(errc::unavailable, "no ringkv node there"), true);
            auto speaks = [&](const std::set<std::string>& wanted) {
              return std::includes(interface.begin(), interface.end(), wanted.begin(),
                                   wanted.end());
            };
            auto& sys = self->system();
            if (!speaks(sys.message_types<client_actor>()) ||
                !speaks(sys.message_types<actors::client_batch_sink>()))
              return on_connect_failed(
                  self, target, make_error(errc::unavailable, "it speaks another ringkv version"),
                  true);
            st.connecting = false;
            st.refusals = 0;
            st.node = caf::actor_cast<client_actor>(std::move(ptr));
            self->monitor(st.node);
            send_unsent(self);
          },
          [self, target](caf::error& err) {
            on_connect_failed(self, target, err, err == caf::sec::cannot_connect_to_node);
          });
}

void schedule_tick(client_pointer self) {
  auto& st = self->state;
  if (st.tick_queued || st.deadlines.empty()) return;
  st.tick_queued = true;
  self->delayed_send(self, std::chrono::milliseconds{50}, tick_atom::value);
}

void on_tick(client_pointer self) {
  auto& st = self->state;
  st.tick_queued = false;
  auto now = self->clock().now();
  if (!st.node && !st.connecting && now >= st.retry_at && has_unsent(st)) connect(self);
  while (!st.deadlines.empty() && st.deadlines.top().first <= now) {
    auto id = st.deadlines.top().second;
    st.deadlines.pop();
    if (auto i = st.in_flight.find(id); i != st.in_flight.end()) {
      auto fail = std::move(i->second.fail);
      auto sent = i->second.sent;
      st.in_flight.erase(i);
      if (sent)
        fail(make_error(
            errc::timeout,
            "no answer from the node in time; a write may or may not have been applied"));
      else
        fail(make_error(errc::unavailable, st.last_connect_error.empty()
                                               ? std::string{"could not reach a node in time"}
                                               : st.last_connect_error));
    }
  }
  schedule_tick(self);
}

std::chrono::milliseconds effective_timeout(const client_state& st, uint32_t timeout_ms) {
  return timeout_ms == 0 ? st.cfg.default_timeout : std::chrono::milliseconds{timeout_ms};
}

caf::error check_size(const client_state& st, const google::protobuf::MessageLite& req) {
  auto size = req.ByteSizeLong();
  if (size <= st.cfg.max_request_bytes) return caf::none;
  return make_error(errc::too_large, "the request is " + std::to_string(size) +
                                         " bytes; one message carries at most " +
                                         std::to_string(st.cfg.max_request_bytes));
}

// Tracks `p` until its answer arrives, the connection drops, or its deadline passes.
void track(client_pointer self, pending p, std::chrono::milliseconds timeout) {
  auto& st = self->state;
  auto id = st.next_id++;
  p.deadline = self->clock().now() + timeout + st.cfg.grace;
  st.deadlines.emplace(p.deadline, id);
  auto& entry = st.in_flight.emplace(id, std::move(p)).first->second;
  schedule_tick(self);
  if (st.node)
    send(self, id, entry);
  else
    connect(self);
}

// A request sent on its own.
template <class Reply, class Request>
caf::result<Reply> submit(client_pointer self, Request req, std::chrono::milliseconds timeout) {
  if (auto err = check_size(self->state, req)) return err;
  auto promise = self->make_response_promise<Reply>();
  pending p;
  p.fail = [promise](caf::error err) mutable { promise.deliver(std::move(err)); };
  p.send = [self, promise, req = std::move(req)](const client_actor& node, uint64_t id) {
    auto done = [self, id] { return self->state.in_flight.erase(id) == 1; };
    self->request(node, caf::infinite, req)
        .then(
            [promise, done](Reply& reply) mutable {
              if (done()) promise.deliver(std::move(reply));
            },
            [promise, done](caf::error& err) mutable {
              if (done()) promise.deliver(std::move(err));
            });
  };
  track(self, std::move(p), timeout);
  return promise;
}

void set_call(msg::ClientCall& call, msg::PutRequest&& req) {
  *call.mutable_put() = std::move(req);
}
void set_call(msg::ClientCall& call, msg::GetRequest&& req) {
  *call.mutable_get() = std::move(req);
}
void set_call(msg::ClientCall& call, msg::DeleteRequest&& req) {
  *call.mutable_del() = std::move(req);
}

msg::PutReply* reply_in(msg::ClientResult& r, msg::PutReply*) {
  return r.has_put() ? r.mutable_put() : nullptr;
}
msg::GetReply* reply_in(msg::ClientResult& r, msg::GetReply*) {
  return r.has_get() ? r.mutable_get() : nullptr;
}
msg::DeleteReply* reply_in(msg::ClientResult& r, msg::DeleteReply*) {
  return r.has_del() ? r.mutable_del() : nullptr;
}

// A put, get or delete: it travels in a batch.
template <class Reply, class Request>
caf::result<Reply> submit_call(client_pointer self, Request req,
                               std::chrono::milliseconds timeout) {
  if (auto err = check_size(self->state, req)) return err;
  auto promise = self->make_response_promise<Reply>();
  pending p;
  p.fail = [promise](caf::error err) mutable { promise.deliver(std::move(err)); };
  p.call.emplace();
  set_call(*p.call, std::move(req));
  p.result = [promise](msg::ClientResult& result) mutable {
    if (result.has_error())
      promise.deliver(actors::from_wire(result.error()));
    else if (auto* reply = reply_in(result, static_cast<Reply*>(nullptr)))
      promise.deliver(std::move(*reply));
    else
      promise.deliver(make_error(errc::internal, "the node answered with another kind of result"));
  };
  track(self, std::move(p), timeout);
  return promise;
}

template <class Request>
Request with_timeout(const client_state& st, Request req) {
  auto* opts = req.mutable_options();
  if (opts->timeout_ms() == 0)
    opts->set_timeout_ms(static_cast<uint32_t>(st.cfg.default_timeout.count()));
  return req;
}

client_impl::behavior_type client(client_pointer self, client_config cfg) {
  actors::shield(self, "client");
  self->state.cfg = std::move(cfg);
  if (self->state.cfg.nodes.empty()) self->state.cfg.nodes.push_back("127.0.0.1:7101");
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (!st.node || dm.source != st.node.address()) return;
    st.node = nullptr;
    st.queued.take();  // failed below: never sent
    fail_all(self, true,
             make_error(errc::timeout,
                        "the connection to the node was lost; the outcome is "
                        "unknown (a write may or may not have been applied)"));
  });
  return {
      [self](msg::PutRequest& req) {
        req = with_timeout(self->state, std::move(req));
        auto t = effective_timeout(self->state, req.options().timeout_ms());
        return submit_call<msg::PutReply>(self, std::move(req), t);
      },
      [self](msg::GetRequest& req) {
        req = with_timeout(self->state, std::move(req));
        auto t = effective_timeout(self->state, req.options().timeout_ms());
        return submit_call<msg::GetReply>(self, std::move(req), t);
      },
      [self](msg::DeleteRequest& req) {
        req = with_timeout(self->state, std::move(req));
        auto t = effective_timeout(self->state, req.options().timeout_ms());
        return submit_call<msg::DeleteReply>(self, std::move(req), t);
      },
      [self](msg::StatusRequest& req) {
        return submit<msg::StatusReply>(self, std::move(req), self->state.cfg.default_timeout);
      },
      [self](msg::FailActorRequest& req) {
        return submit<msg::FailActorReply>(self, std::move(req), self->state.cfg.default_timeout);
      },
      [self](msg::RingRequest& req) {
        return submit<msg::RingReply>(self, std::move(req), self->state.cfg.default_timeout);
      },
      [self](msg::ExplainRequest& req) {
        auto t = effective_timeout(self->state, req.options().timeout_ms());
        return submit<msg::ExplainReply>(self, std::move(req), t);
      },
      [self](msg::LeaveRequest& req) {
        return submit<msg::LeaveReply>(self, std::move(req), self->state.cfg.default_timeout);
      },
      [self](msg::TransfersRequest& req) {
        return submit<msg::TransfersReply>(self, std::move(req), self->state.cfg.default_timeout);
      },
      [self](msg::RemoveMemberRequest& req) {
        return submit<msg::RemoveMemberReply>(self, std::move(req),
                                              self->state.cfg.default_timeout);
      },
      [self](msg::RepairStatusRequest& req) {
        return submit<msg::RepairStatusReply>(self, std::move(req),
                                              self->state.cfg.default_timeout);
      },
      [self](msg::HintsRequest& req) {
        return submit<msg::HintsReply>(self, std::move(req), self->state.cfg.default_timeout);
      },
      [self](msg::CompactionRequest& req) {
        return submit<msg::CompactionReply>(self, std::move(req), self->state.cfg.default_timeout);
      },
      [self](tick_atom) { on_tick(self); },
      [self](flush_atom) {
        self->state.flush_queued = false;
        send_queued(self);
      },
      [self](msg::ClientResults& results) { on_results(self, results); },
  };
}

}  // namespace

std::string error_info::describe() const {
  std::string result{to_string(code)};
  if (!message.empty()) result += " " + message;
  return result;
}

void configure(caf::actor_system_config& cfg) {
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds{500}});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds{5000}});
  cfg.set("logger.verbosity", caf::atom("quiet"));
  // Work sharing wakes an idle thread at once (work stealing sleeps with back-off), and
  // deserializing in the multiplexer thread saves a hop: a third of the round trip on loopback.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("middleman.workers", size_t{0});
}

client_actor spawn_client(caf::actor_system& sys, client_config cfg) {
  return sys.spawn(client, std::move(cfg));
}

void set_options(const request_options& opts, msg::RequestOptions& out) {
  out.set_ns(opts.ns);
  out.set_n(opts.n);
  out.set_r(opts.r);
  out.set_w(opts.w);
  out.set_timeout_ms(static_cast<uint32_t>(opts.timeout.count()));
  switch (opts.lvl) {
    case level::unset:
      out.set_level(msg::LEVEL_UNSET);
      break;
    case level::one:
      out.set_level(msg::LEVEL_ONE);
      break;
    case level::quorum:
      out.set_level(msg::LEVEL_QUORUM);
      break;
    case level::all:
      out.set_level(msg::LEVEL_ALL);
      break;
    case level::local_quorum:
      out.set_level(msg::LEVEL_LOCAL_QUORUM);
      break;
  }
}

msg::PutRequest make_put(std::string_view key, std::string_view value, const request_options& opts,
                         std::string_view context) {
  msg::PutRequest req;
  set_options(opts, *req.mutable_options());
  req.set_key(std::string{key});
  req.set_value(std::string{value});
  req.set_context(std::string{context});
  return req;
}

msg::GetRequest make_get(std::string_view key, const request_options& opts) {
  msg::GetRequest req;
  set_options(opts, *req.mutable_options());
  req.set_key(std::string{key});
  return req;
}

msg::DeleteRequest make_delete(std::string_view key, const request_options& opts,
                               std::string_view context) {
  msg::DeleteRequest req;
  set_options(opts, *req.mutable_options());
  req.set_key(std::string{key});
  req.set_context(std::string{context});
  return req;
}

get_result to_result(const msg::GetReply& reply) {
  get_result result;
  result.context = reply.context();
  for (auto& s : reply.siblings())
    result.siblings.push_back({s.value(), s.deleted(), s.timestamp_ms(),
                               s.dot().actor() + ":" + std::to_string(s.dot().counter())});
  return result;
}

}  // namespace kv::client
