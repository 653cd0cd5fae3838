#include "client/client.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <queue>
#include <unordered_map>

#include "actors/config.hpp"
#include "actors/shield.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "storage/codec.hpp"

namespace kv::client {

namespace {

using tick_atom = actors::tick_atom;
using time_point = caf::actor_clock::time_point;

// The client's own interface: the node's, plus its deadline tick.
using client_impl = client_actor::extend<caf::reacts_to<tick_atom>>;

// A request waiting for its answer. `send` sends it to the connected node and delivers what
// comes back to the requester; `fail` answers the requester with an error instead.
struct pending {
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

void send_unsent(client_pointer self) {
  for (auto& [id, p] : self->state.in_flight) {
    if (p.sent) continue;
    p.sent = true;
    p.send(self->state.node, id);
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
            auto wanted = self->system().message_types<client_actor>();
            if (!std::includes(interface.begin(), interface.end(), wanted.begin(), wanted.end()))
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

// Tracks `req` until its answer arrives, the connection drops, or its deadline passes.
template <class Reply, class Request>
caf::result<Reply> submit(client_pointer self, Request req, std::chrono::milliseconds timeout) {
  auto& st = self->state;
  if (auto size = req.ByteSizeLong(); size > st.cfg.max_request_bytes)
    return make_error(errc::too_large, "the request is " + std::to_string(size) +
                                           " bytes; one message carries at most " +
                                           std::to_string(st.cfg.max_request_bytes));
  auto promise = self->make_response_promise<Reply>();
  auto id = st.next_id++;
  pending p;
  p.deadline = self->clock().now() + timeout + st.cfg.grace;
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
  st.deadlines.emplace(p.deadline, id);
  auto& entry = st.in_flight.emplace(id, std::move(p)).first->second;
  schedule_tick(self);
  if (st.node) {
    entry.sent = true;
    entry.send(st.node, id);
  } else {
    connect(self);
  }
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
    fail_all(self, true,
             make_error(errc::timeout,
                        "the connection to the node was lost; the outcome is "
                        "unknown (a write may or may not have been applied)"));
  });
  return {
      [self](msg::PutRequest& req) {
        req = with_timeout(self->state, std::move(req));
        auto t = effective_timeout(self->state, req.options().timeout_ms());
        return submit<msg::PutReply>(self, std::move(req), t);
      },
      [self](msg::GetRequest& req) {
        req = with_timeout(self->state, std::move(req));
        auto t = effective_timeout(self->state, req.options().timeout_ms());
        return submit<msg::GetReply>(self, std::move(req), t);
      },
      [self](msg::DeleteRequest& req) {
        req = with_timeout(self->state, std::move(req));
        auto t = effective_timeout(self->state, req.options().timeout_ms());
        return submit<msg::DeleteReply>(self, std::move(req), t);
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
      [self](tick_atom) { on_tick(self); },
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
