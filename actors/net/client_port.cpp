#include "actors/net/client_port.hpp"

#include <map>

#include "actors/interfaces.hpp"
#include "actors/net/batching.hpp"
#include "actors/net/shield.hpp"
#include "actors/net/tls_scribe.hpp"
#include "actors/node/acl.hpp"
#include "actors/node/audit.hpp"
#include "actors/node/log.hpp"
#include "actors/node/registry.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "messages/errc.hpp"
#include "messages/framing.hpp"

namespace kv::actors {
namespace {

using steady = std::chrono::steady_clock;
using caf::io::connection_handle;

constexpr size_t read_chunk_bytes = 64 * 1024;
constexpr auto sweep_interval = std::chrono::milliseconds{250};

struct connection {
  explicit connection(uint32_t max_frame_bytes) : reader(max_frame_bytes) {}

  protocol::frame_reader reader;
  std::string peer;  // "ip:port", for logs
  bool hello = false;
  std::string principal;  // who the hello's credentials name ("" when none are checked)
  bool halted = false;    // not read: max_in_flight requests unanswered
  uint32_t in_flight = 0;
  steady::time_point opened;
  steady::time_point last_read;
  std::optional<steady::time_point> frame_started;  // a frame's first bytes are buffered
};

struct door_state {
  door_config cfg;
  std::shared_ptr<registry> reg;
  std::shared_ptr<door_counters> counters;
  std::map<connection_handle, connection> conns;
  std::shared_ptr<tls_directory> directory;  // the client certificate of each TLS connection
  std::shared_ptr<spdlog::logger> log;
  kv::log::connection_log connections;  // connection warnings, rate-limited

  static inline const char* name = "door";
};

using door_broker = caf::io::stateful_broker<door_state>;

const char* listener_flag(door d) {
  return d == door::client ? "--listen" : "--admin-listen";
}

// -- writing ----------------------------------------------------------------------------------

// Appends `frame` to the connection's write buffer, framed, and flushes.
void send_frame(door_broker* self, connection_handle hdl, const msg::NodeFrame& frame) {
  auto size = frame.ByteSizeLong();
  auto& buf = self->wr_buf(hdl);
  auto at = buf.size();
  buf.resize(at + protocol::header_bytes + size);
  auto* p = reinterpret_cast<uint8_t*>(buf.data() + at);
  p[0] = static_cast<uint8_t>(size >> 24);
  p[1] = static_cast<uint8_t>(size >> 16);
  p[2] = static_cast<uint8_t>(size >> 8);
  p[3] = static_cast<uint8_t>(size);
  frame.SerializeWithCachedSizesToArray(p + protocol::header_bytes);
  self->flush(hdl);
}

// Sends a goodbye and closes the connection once it is written.
void say_goodbye(door_broker* self, connection_handle hdl, errc code, const std::string& why) {
  auto& st = self->state;
  auto i = st.conns.find(hdl);
  if (i == st.conns.end()) return;
  st.counters->closed.fetch_add(1, std::memory_order_relaxed);
  st.connections.warn("ConnectionClosed door={} peer={} reason=\"{}\"", to_string(st.cfg.kind),
                      i->second.peer, why);
  msg::NodeFrame frame;
  auto* err = frame.mutable_goodbye();
  err->set_code(static_cast<msg::ErrorCode>(code));
  err->set_message(why);
  send_frame(self, hdl, frame);
  st.conns.erase(i);
  self->close(hdl);
}

// -- answers ----------------------------------------------------------------------------------

void set_reply(msg::Response& r, msg::PutReply&& x) {
  *r.mutable_put() = std::move(x);
}
void set_reply(msg::Response& r, msg::GetReply&& x) {
  *r.mutable_get() = std::move(x);
}
void set_reply(msg::Response& r, msg::DeleteReply&& x) {
  *r.mutable_del() = std::move(x);
}
void set_reply(msg::Response& r, msg::StatusReply&& x) {
  *r.mutable_status() = std::move(x);
}
void set_reply(msg::Response& r, msg::RingReply&& x) {
  *r.mutable_ring() = std::move(x);
}
void set_reply(msg::Response& r, msg::FailActorReply&& x) {
  *r.mutable_fail_actor() = std::move(x);
}
void set_reply(msg::Response& r, msg::ExplainReply&& x) {
  *r.mutable_explain() = std::move(x);
}
void set_reply(msg::Response& r, msg::LeaveReply&& x) {
  *r.mutable_leave() = std::move(x);
}
void set_reply(msg::Response& r, msg::RemoveMemberReply&& x) {
  *r.mutable_remove() = std::move(x);
}
void set_reply(msg::Response& r, msg::TransfersReply&& x) {
  *r.mutable_transfers() = std::move(x);
}
void set_reply(msg::Response& r, msg::HintsReply&& x) {
  *r.mutable_hints() = std::move(x);
}
void set_reply(msg::Response& r, msg::CompactionReply&& x) {
  *r.mutable_compaction() = std::move(x);
}
void set_reply(msg::Response& r, msg::RepairStatusReply&& x) {
  *r.mutable_repair_status() = std::move(x);
}
void set_reply(msg::Response& r, const caf::error& err) {
  *r.mutable_error() = to_wire(err);
}

void drain(door_broker* self, connection_handle hdl);

// The answer to request `id`: sent if the connection is still there; its reads resume if they
// stopped for want of room in flight.
template <class Reply>
void answer(door_broker* self, connection_handle hdl, uint64_t id, Reply&& reply,
            bool counted = true) {
  auto& st = self->state;
  st.counters->requests.fetch_add(1, std::memory_order_relaxed);
  auto i = st.conns.find(hdl);
  if (i == st.conns.end()) return;  // closed meanwhile: the outcome stays unknown to the client
  auto& conn = i->second;
  if (counted) --conn.in_flight;
  msg::NodeFrame frame;
  auto* response = frame.mutable_response();
  response->set_id(id);
  set_reply(*response, std::forward<Reply>(reply));
  send_frame(self, hdl, frame);
  if (conn.halted && conn.in_flight < st.cfg.max_in_flight) {
    conn.halted = false;
    drain(self, hdl);
    if (!conn.halted && st.conns.count(hdl) != 0) self->trigger(hdl);
  }
}

// Sends `req` to the actor registered as `role`; its reply (or error) answers request `id`.
template <class Reply, class Handle, class Request>
void call(door_broker* self, connection_handle hdl, uint64_t id, const char* role, Request&& req) {
  auto target = self->state.reg->get_as<Handle>(role);
  if (!target)
    return answer(
        self, hdl, id,
        make_error(errc::unavailable, std::string{"the "} + role + " actor is restarting"), false);
  ++self->state.conns.at(hdl).in_flight;
  // No timeout here: every actor a door calls answers within the request's own deadline, and a
  // CAF request timeout is a message that is sent even after the answer came.
  self->request(target, caf::infinite, std::forward<Request>(req))
      .then([self, hdl, id](Reply& reply) { answer(self, hdl, id, std::move(reply)); },
            [self, hdl, id](caf::error& err) { answer(self, hdl, id, err); });
}

// -- requests ---------------------------------------------------------------------------------

// Which calls a door serves.
bool serves(door d, msg::Request::CallCase call) {
  using r = msg::Request;
  switch (call) {
    case r::kStatus:
    case r::kRing:
    case r::kPing:
      return true;
    case r::kPut:
    case r::kGet:
    case r::kDel:
      return d == door::client;
    case r::kFailActor:
    case r::kExplain:
    case r::kLeave:
    case r::kRemove:
    case r::kTransfers:
    case r::kHints:
    case r::kCompaction:
    case r::kRepairStatus:
      return d == door::admin;
    case r::CALL_NOT_SET:
      break;
  }
  return false;
}

const char* call_name(msg::Request::CallCase call) {
  using r = msg::Request;
  switch (call) {
    case r::kPut:
      return "put";
    case r::kGet:
      return "get";
    case r::kDel:
      return "del";
    case r::kStatus:
      return "status";
    case r::kRing:
      return "ring";
    case r::kPing:
      return "ping";
    case r::kFailActor:
      return "fail_actor";
    case r::kExplain:
      return "explain";
    case r::kLeave:
      return "leave";
    case r::kRemove:
      return "remove";
    case r::kTransfers:
      return "transfers";
    case r::kHints:
      return "hints";
    case r::kCompaction:
      return "compaction";
    case r::kRepairStatus:
      return "repair_status";
    case r::CALL_NOT_SET:
      break;
  }
  return "nothing";
}

// The right `call` needs, and the namespace it needs it in; nullopt for ping, which needs none.
std::optional<std::pair<right, std::string>> needed(door d, const msg::Request& req) {
  using r = msg::Request;
  auto ns = [](const msg::RequestOptions& o) { return o.ns().empty() ? "default" : o.ns(); };
  switch (req.call_case()) {
    case r::kPing:
    case r::CALL_NOT_SET:
      return std::nullopt;
    case r::kPut:
      return std::pair{right::write, ns(req.put().options())};
    case r::kDel:
      return std::pair{right::write, ns(req.del().options())};
    case r::kGet:
      return std::pair{right::read, ns(req.get().options())};
    case r::kStatus:
    case r::kRing:
      // On the admin door, everything is the operator's.
      return std::pair{d == door::admin ? right::admin : right::monitor, std::string{}};
    default:
      return std::pair{right::admin, std::string{}};
  }
}

// Audits a call of the admin door (ping, status and ring are not operator verbs).
void audit_verb(door_state& st, const connection& conn, msg::Request::CallCase call,
                const char* outcome) {
  if (!st.cfg.audit || serves(door::client, call)) return;
  st.cfg.audit->record("admin_verb", {{"door", to_string(st.cfg.kind)},
                                      {"peer", conn.peer},
                                      {"principal", conn.principal},
                                      {"verb", call_name(call)},
                                      {"outcome", outcome}});
}

// Why the connection's principal may not make `req`, or nullopt.
std::optional<std::string> denial(door_state& st, const connection& conn, const msg::Request& req) {
  if (req.call_case() == msg::Request::kFailActor && !st.cfg.chaos)
    return std::string{"fail-actor is served only by a node started with --chaos"};
  if (!st.cfg.acl) return std::nullopt;
  auto need = needed(st.cfg.kind, req);
  if (!need) return std::nullopt;
  auto& [what, ns] = *need;
  if (st.cfg.acl->current()->allows(conn.principal, what, ns)) return std::nullopt;
  return denial_text(conn.principal, call_name(req.call_case()), what, ns);
}

void on_request(door_broker* self, connection_handle hdl, msg::Request& req) {
  auto& st = self->state;
  auto id = req.id();
  auto kind = req.call_case();
  if (kind == msg::Request::CALL_NOT_SET)
    return answer(self, hdl, id,
                  make_error(errc::invalid_argument,
                             "a request with no call, or a call this node does not know"),
                  false);
  if (!serves(st.cfg.kind, kind)) {
    st.counters->refused.fetch_add(1, std::memory_order_relaxed);
    auto other = st.cfg.kind == door::client ? door::admin : door::client;
    return answer(self, hdl, id,
                  make_error(errc::invalid_argument,
                             std::string{call_name(kind)} + " is not served on the " +
                                 to_string(st.cfg.kind) + " listener (" +
                                 listener_flag(st.cfg.kind) + "); send it to the " +
                                 to_string(other) + " listener (" + listener_flag(other) + ")"),
                  false);
  }
  auto& conn = st.conns.at(hdl);
  if (auto why = denial(st, conn, req)) {
    st.counters->refused.fetch_add(1, std::memory_order_relaxed);
    if (st.cfg.audit)
      st.cfg.audit->record("denied", {{"door", to_string(st.cfg.kind)},
                                      {"peer", conn.peer},
                                      {"principal", conn.principal},
                                      {"call", call_name(kind)},
                                      {"reason", *why}});
    audit_verb(st, conn, kind, "denied");
    return answer(self, hdl, id, make_error(errc::permission_denied, *why), false);
  }
  audit_verb(st, conn, kind, "served");
  if (st.cfg.audit && st.cfg.audit->data_ops() &&
      (kind == msg::Request::kPut || kind == msg::Request::kGet || kind == msg::Request::kDel)) {
    auto need = needed(st.cfg.kind, req);
    st.cfg.audit->record("data", {{"peer", conn.peer},
                                  {"principal", conn.principal},
                                  {"call", call_name(kind)},
                                  {"ns", need->second}});
  }
  using r = msg::Request;
  switch (kind) {
    case r::kPut:
      return call<msg::PutReply, coordinator_actor>(self, hdl, id, "coordinator",
                                                    std::move(*req.mutable_put()));
    case r::kGet:
      return call<msg::GetReply, coordinator_actor>(self, hdl, id, "coordinator",
                                                    std::move(*req.mutable_get()));
    case r::kDel:
      return call<msg::DeleteReply, coordinator_actor>(self, hdl, id, "coordinator",
                                                       std::move(*req.mutable_del()));
    case r::kStatus:
      return call<msg::StatusReply, admin_actor>(self, hdl, id, "node",
                                                 std::move(*req.mutable_status()));
    case r::kRing:
      return call<msg::RingReply, admin_actor>(self, hdl, id, "node",
                                               std::move(*req.mutable_ring()));
    case r::kPing: {
      msg::NodeFrame frame;
      frame.mutable_response()->set_id(id);
      frame.mutable_response()->mutable_pong();
      st.counters->requests.fetch_add(1, std::memory_order_relaxed);
      return send_frame(self, hdl, frame);
    }
    case r::kFailActor:
      return call<msg::FailActorReply, admin_actor>(self, hdl, id, "node",
                                                    std::move(*req.mutable_fail_actor()));
    case r::kExplain:
      return call<msg::ExplainReply, admin_actor>(self, hdl, id, "node",
                                                  std::move(*req.mutable_explain()));
    case r::kLeave:
      return call<msg::LeaveReply, gossip_actor>(self, hdl, id, "gossip",
                                                 std::move(*req.mutable_leave()));
    case r::kRemove:
      return call<msg::RemoveMemberReply, gossip_actor>(self, hdl, id, "gossip",
                                                        std::move(*req.mutable_remove()));
    case r::kTransfers:
      return call<msg::TransfersReply, handoff_actor>(self, hdl, id, "handoff",
                                                      std::move(*req.mutable_transfers()));
    case r::kHints:
      return call<msg::HintsReply, hint_store_actor>(self, hdl, id, "hint_store",
                                                     std::move(*req.mutable_hints()));
    case r::kCompaction:
      return call<msg::CompactionReply, compaction_actor>(self, hdl, id, "compaction",
                                                          std::move(*req.mutable_compaction()));
    case r::kRepairStatus:
      return call<msg::RepairStatusReply, anti_entropy_actor>(
          self, hdl, id, "anti_entropy", std::move(*req.mutable_repair_status()));
    case r::CALL_NOT_SET:
      break;
  }
}

// -- frames -----------------------------------------------------------------------------------

// The principal a hello's credentials name: its token's owner, else the name in the
// connection's client certificate. UNAUTHENTICATED without credentials the ACL knows. Without an
// ACL, nothing is checked: the certificate's name, if any, is only reported.
caf::expected<std::string> identify(door_state& st, connection_handle hdl,
                                    const msg::Hello& hello) {
  auto certified = st.directory ? st.directory->at(hdl) : std::nullopt;
  if (!st.cfg.acl) return certified ? certified->name : std::string{};
  if (!hello.token().empty()) return st.cfg.acl->current()->authenticate(hello.token());
  if (certified) return certified->name;
  return make_error(errc::unauthenticated,
                    "no credentials: this node checks who calls; present a client certificate "
                    "(--cert, --key, --ca) or a token (--token)");
}

// Handles one frame; false once the connection is closed.
bool on_frame(door_broker* self, connection_handle hdl, connection& conn,
              const std::string& payload) {
  auto& st = self->state;
  auto frame = protocol::decode_client_frame(payload);
  if (!frame) {
    say_goodbye(self, hdl, code_of(frame.error()), message_of(frame.error()));
    return false;
  }
  if (frame->has_hello()) {
    if (conn.hello) {
      say_goodbye(self, hdl, errc::invalid_argument, "a second hello");
      return false;
    }
    auto& hello = frame->hello();
    auto reply = protocol::answer_hello(hello, st.cfg.node_id, st.cfg.max_frame_bytes,
                                        static_cast<uint32_t>(st.cfg.idle_timeout.count()),
                                        st.cfg.max_in_flight);
    if (!reply.has_error()) {
      auto who = identify(st, hdl, hello);
      if (!who) {
        auto* err = reply.mutable_error();
        err->set_code(static_cast<msg::ErrorCode>(code_of(who.error())));
        err->set_message(message_of(who.error()));
        if (st.cfg.audit)
          st.cfg.audit->record(
              "auth_failed",
              {{"door", to_string(st.cfg.kind)}, {"peer", conn.peer}, {"reason", err->message()}});
      } else {
        conn.principal = std::move(*who);
        reply.set_principal(conn.principal);
      }
    }
    msg::NodeFrame out;
    *out.mutable_hello() = reply;
    send_frame(self, hdl, out);
    if (reply.has_error()) {
      st.counters->closed.fetch_add(1, std::memory_order_relaxed);
      st.connections.warn("ConnectionClosed door={} peer={} reason=\"{}\"", to_string(st.cfg.kind),
                          conn.peer, reply.error().message());
      st.conns.erase(hdl);
      self->close(hdl);
      return false;
    }
    conn.hello = true;
    st.log->debug("ClientHello door={} peer={} client=\"{}\" principal=\"{}\"",
                  to_string(st.cfg.kind), conn.peer, hello.client().substr(0, 128), conn.principal);
    return true;
  }
  if (!conn.hello) {
    say_goodbye(self, hdl, errc::invalid_argument, "the first frame must be a hello");
    return false;
  }
  on_request(self, hdl, *frame->mutable_request());
  return st.conns.count(hdl) != 0;
}

// Handles the whole frames buffered for `hdl` while the connection has room in flight; stops
// reading it once it has none.
void drain(door_broker* self, connection_handle hdl) {
  auto& st = self->state;
  while (true) {
    auto i = st.conns.find(hdl);
    if (i == st.conns.end()) return;
    auto& conn = i->second;
    if (conn.in_flight >= st.cfg.max_in_flight) {
      if (!conn.halted) {
        conn.halted = true;
        self->halt(hdl);
      }
      return;
    }
    auto next = conn.reader.next();
    if (!next) return say_goodbye(self, hdl, code_of(next.error()), message_of(next.error()));
    if (!*next) {
      if (conn.reader.buffered() == 0)
        conn.frame_started.reset();
      else if (!conn.frame_started)
        conn.frame_started = steady::now();
      return;
    }
    conn.frame_started.reset();
    if (!on_frame(self, hdl, conn, **next)) return;
  }
}

void on_data(door_broker* self, const caf::io::new_data_msg& data) {
  auto& st = self->state;
  auto i = st.conns.find(data.handle);
  if (i == st.conns.end()) return;
  auto& conn = i->second;
  conn.last_read = steady::now();
  conn.reader.feed(std::string_view{data.buf.data(), data.buf.size()});
  drain(self, data.handle);
}

void on_connection(door_broker* self, const caf::io::new_connection_msg& msg) {
  auto& st = self->state;
  auto hdl = msg.handle;
  st.counters->accepted.fetch_add(1, std::memory_order_relaxed);
  auto now = steady::now();
  auto& conn = st.conns.emplace(hdl, connection{st.cfg.max_frame_bytes}).first->second;
  conn.peer = self->remote_addr(hdl) + ":" + std::to_string(self->remote_port(hdl));
  conn.opened = now;
  conn.last_read = now;
  if (st.conns.size() > st.cfg.max_connections)
    return say_goodbye(
        self, hdl, errc::unavailable,
        "too many connections (limit " + std::to_string(st.cfg.max_connections) + ")");
  self->configure_read(hdl, caf::io::receive_policy::at_most(read_chunk_bytes));
}

// Closes connections past a deadline.
void sweep(door_broker* self) {
  auto& st = self->state;
  auto now = steady::now();
  std::vector<std::pair<connection_handle, std::string>> late;
  for (auto& [hdl, conn] : st.conns) {
    if (!conn.hello && now - conn.opened > st.cfg.handshake_timeout)
      late.emplace_back(hdl, "no hello within the handshake timeout");
    else if (conn.frame_started && !conn.halted && now - *conn.frame_started > st.cfg.frame_timeout)
      late.emplace_back(hdl, "frame not completed within the frame timeout (truncated frame?)");
    else if (conn.in_flight == 0 && now - conn.last_read > st.cfg.idle_timeout)
      late.emplace_back(hdl, "idle for longer than the idle timeout");
  }
  for (auto& [hdl, why] : late)
    say_goodbye(self, hdl, why[0] == 'i' ? errc::timeout : errc::invalid_argument, why);
}

caf::behavior serve_door(door_broker* self, caf::io::doorman_ptr acceptor, door_config cfg,
                         std::shared_ptr<registry> reg, std::shared_ptr<door_counters> counters,
                         std::shared_ptr<tls_directory> directory) {
  auto role = cfg.kind == door::client ? "client_port" : "admin_port";
  shield(self, role);
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.reg = std::move(reg);
  st.counters = std::move(counters);
  st.directory = std::move(directory);
  st.log = log::get(role);
  st.connections = kv::log::connection_log{st.log};
  self->add_doorman(std::move(acceptor));
  self->delayed_send(self, sweep_interval, tick_atom::value);
  return {
      [self](const caf::io::new_connection_msg& msg) { on_connection(self, msg); },
      [self](const caf::io::new_data_msg& msg) { on_data(self, msg); },
      [self](const caf::io::connection_closed_msg& msg) {
        auto& st = self->state;
        auto i = st.conns.find(msg.handle);
        if (i == st.conns.end()) return;
        if (i->second.frame_started)
          st.connections.warn(
              "ConnectionLost door={} peer={} reason=\"closed in the middle of a frame\"",
              to_string(st.cfg.kind), i->second.peer);
        st.conns.erase(i);
      },
      [self](const caf::io::acceptor_closed_msg&) {
        self->state.log->error("ListenerClosed door={}", to_string(self->state.cfg.kind));
      },
      [self](tick_atom) {
        sweep(self);
        self->delayed_send(self, sweep_interval, tick_atom::value);
      },
  };
}

}  // namespace

const char* to_string(door d) {
  return d == door::client ? "client" : "admin";
}

caf::expected<door_handle> open_door(caf::actor_system& sys, std::shared_ptr<registry> reg,
                                     door_config cfg) {
  auto& mm = sys.middleman();
  auto directory = std::make_shared<tls_directory>();
  auto counters = std::make_shared<door_counters>();
  auto refused = [log = std::make_shared<kv::log::connection_log>(
                      log::get(cfg.kind == door::client ? "client_port" : "admin_port")),
                  audit = cfg.audit, kind = cfg.kind,
                  counters](const std::string& peer, const std::string& why) {
    counters->closed.fetch_add(1, std::memory_order_relaxed);
    log->warn("ConnectionRefused door={} peer={} reason=\"{}\"", to_string(kind), peer, why);
    if (audit)
      audit->record("connection_refused",
                    {{"door", to_string(kind)}, {"peer", peer}, {"reason", why}});
  };
  auto acceptor =
      open_tls_doorman(multiplexer_of(sys), cfg.at.host, cfg.at.port, cfg.tls, directory, refused);
  if (!acceptor)
    return make_error(errc::unavailable, "cannot listen on " + to_string(cfg.at) + ": " +
                                             sys.render(acceptor.error()));
  door_handle result;
  result.port = (*acceptor)->port();
  result.counters = std::move(counters);
  result.broker = mm.spawn_broker(serve_door, std::move(*acceptor), std::move(cfg), std::move(reg),
                                  result.counters, std::move(directory));
  return result;
}

}  // namespace kv::actors
