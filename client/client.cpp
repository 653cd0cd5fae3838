#include "client/client.hpp"

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <functional>
#include <queue>
#include <unordered_map>

#include "actors/net/batching.hpp"
#include "actors/net/host_port.hpp"
#include "actors/net/shield.hpp"
#include "actors/net/tls_scribe.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "messages/framing.hpp"
#include "storage/codec.hpp"

namespace kv::client {

namespace {

using tick_atom = actors::tick_atom;
using flush_atom = actors::flush_atom;
using bytes_atom = caf::atom_constant<caf::atom("bytes")>;      // link -> client: bytes read
using up_atom = caf::atom_constant<caf::atom("linkup")>;        // connector -> client: connected
using failed_atom = caf::atom_constant<caf::atom("linkfail")>;  // connector -> client: not
using lost_atom = caf::atom_constant<caf::atom("linklost")>;    // link -> client: closed
using ping_atom = caf::atom_constant<caf::atom("keepalive")>;   // client -> itself: ping time
using time_point = caf::actor_clock::time_point;

// The client's own interface: the node's, plus its deadline tick, its flushes and what its
// connections report. A connection is a `link`, a broker in the middleman's multiplexer that only
// moves bytes: frames are made and read here, in the client actor.
using client_impl =
    client_actor::extend<caf::reacts_to<tick_atom>, caf::reacts_to<flush_atom>,
                         caf::reacts_to<ping_atom>,
                         caf::reacts_to<bytes_atom, uint32_t, uint64_t, std::string>,
                         caf::reacts_to<up_atom, uint32_t, uint64_t, caf::actor>,
                         caf::reacts_to<failed_atom, uint32_t, uint64_t, std::string>,
                         caf::reacts_to<lost_atom, uint32_t, uint64_t, std::string>>;

// A node's frames may be larger than what it takes (an object at its namespace's
// max_object_bytes plus framing): docs/protocol.md asks clients to take at least 64 MiB.
constexpr uint32_t max_node_frame_bytes = uint32_t{64} << 20;
constexpr size_t read_chunk_bytes = 64 * 1024;

// The link: one TCP connection (TLS or not), bytes in both directions. It ends with the
// connection, or when its client goes. `refusal`: why the TLS handshake failed, once it did.
caf::behavior link(caf::io::broker* self, caf::io::scribe_ptr conn, caf::actor owner,
                   uint32_t channel, uint64_t generation, std::shared_ptr<std::string> refusal) {
  auto hdl = conn->hdl();
  bool secure = static_cast<actors::tls_scribe*>(conn.get())->secure();
  self->add_scribe(std::move(conn));
  self->monitor(owner);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  self->configure_read(hdl, caf::io::receive_policy::at_most(read_chunk_bytes));
  return {
      [=](const caf::io::new_data_msg& data) {
        self->send(owner, bytes_atom::value, channel, generation,
                   std::string{data.buf.begin(), data.buf.end()});
      },
      [=](const std::string& bytes) {
        self->write(hdl, bytes.size(), bytes.data());
        self->flush(hdl);
      },
      [=](const caf::io::connection_closed_msg&) {
        self->send(owner, lost_atom::value, channel, generation,
                   !refusal->empty() ? "TLS handshake failed: " + *refusal
                   : secure          ? std::string{"the node closed the connection"}
                                     : std::string{"the node closed the connection (if it "
                                                   "speaks TLS, give --ca)"});
        self->quit();
      },
  };
}

enum channel_index : uint32_t { data_channel = 0, admin_channel = 1 };

// The connection to one kind of listener: the client listener (put, get, delete, status, ring)
// or the admin listener (the operator verbs).
struct channel {
  const char* what = "client";
  std::vector<std::string> addresses;
  size_t next = 0;          // the address to try next
  caf::actor link;          // null while not connected
  uint64_t generation = 0;  // of the current connection; reports of older ones are ignored
  bool connecting = false;  // connecting, or waiting for the hello's answer
  bool ready = false;       // the hello was answered
  size_t refusals = 0;      // connection attempts refused in a row
  std::string last_error;   // why the last attempt failed, for requests never sent
  errc last_code = errc::unavailable;  // and its code: UNAUTHENTICATED for refused credentials
  time_point retry_at;                 // no new attempt before this (after a failed one)
  time_point hello_deadline;
  std::string out;  // frames for the next flush
  // The node closes a connection that sent nothing for its idle timeout (from its hello); the
  // client pings one that sent nothing for half of it. Zero: no pings.
  caf::timespan ping_after{0};
  time_point last_sent;
  protocol::frame_reader reader{max_node_frame_bytes};
  uint32_t max_frame_bytes = protocol::default_max_frame_bytes;  // the node's, from its hello
};

// A request waiting for its answer. `request` is the request until it is sent; `deliver`
// answers the requester with the node's response, `fail` with an error instead.
struct pending {
  uint32_t channel = data_channel;
  msg::Request request;
  std::function<void(msg::Response&)> deliver;
  std::function<void(caf::error)> fail;
  bool sent = false;
};

struct client_state {
  client_config cfg;
  std::shared_ptr<actors::tls_context> tls;  // with cfg.ca
  caf::error tls_error;                      // why the TLS files could not be loaded
  std::array<channel, 2> channels;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, pending> in_flight;
  bool flush_queued = false;
  bool ping_queued = false;
  std::priority_queue<std::pair<time_point, uint64_t>, std::vector<std::pair<time_point, uint64_t>>,
                      std::greater<>>
      deadlines;
  bool tick_queued = false;

  static inline const char* name = "ringkv_client";
};

using client_pointer = client_impl::stateful_pointer<client_state>;

// Fails the requests of channel `c`: all of them, or only those sent.
void fail_all(client_pointer self, uint32_t c, bool only_sent, const caf::error& err) {
  auto& flights = self->state.in_flight;
  for (auto i = flights.begin(); i != flights.end();) {
    if (i->second.channel != c || (only_sent && !i->second.sent)) {
      ++i;
      continue;
    }
    auto fail = std::move(i->second.fail);
    i = flights.erase(i);
    fail(err);
  }
}

void schedule_flush(client_pointer self) {
  if (self->state.flush_queued) return;
  self->state.flush_queued = true;
  self->send(self, flush_atom::value);
}

// Sends what was framed since the last flush, in one message per connection.
void flush(client_pointer self) {
  self->state.flush_queued = false;
  for (auto& ch : self->state.channels) {
    if (ch.out.empty() || !ch.link) continue;
    ch.last_sent = self->clock().now();
    caf::anon_send(ch.link, std::move(ch.out));
    ch.out.clear();
  }
}

// Frames `p` for its connection's next flush.
void send(client_pointer self, uint64_t id, pending& p) {
  auto& ch = self->state.channels[p.channel];
  msg::ClientFrame frame;
  *frame.mutable_request() = std::move(p.request);
  frame.mutable_request()->set_id(id);
  auto size = frame.ByteSizeLong();
  if (size > ch.max_frame_bytes) {
    auto fail = std::move(p.fail);
    self->state.in_flight.erase(id);
    return fail(make_error(errc::too_large, "the request is " + std::to_string(size) +
                                                " bytes; the node takes at most " +
                                                std::to_string(ch.max_frame_bytes)));
  }
  p.sent = true;
  protocol::append_frame(ch.out, frame);
  schedule_flush(self);
}

void send_unsent(client_pointer self, uint32_t c) {
  std::vector<uint64_t> ids;
  for (auto& [id, p] : self->state.in_flight)
    if (!p.sent && p.channel == c) ids.push_back(id);
  for (auto id : ids)
    if (auto i = self->state.in_flight.find(id); i != self->state.in_flight.end())
      send(self, id, i->second);
}

bool has_unsent(const client_state& st, uint32_t c) {
  for (auto& [id, p] : st.in_flight)
    if (!p.sent && p.channel == c) return true;
  return false;
}

void connect(client_pointer self, uint32_t c);

// A connection attempt failed. A refused one (nothing listens, or not a ringkv client
// listener) moves on to the next address at once, and fails the waiting requests UNAVAILABLE
// once every address refused. Any other failure is tried again 100 ms later while requests
// wait, so a slow node gets more than one chance before the deadline.
void on_connect_failed(client_pointer self, uint32_t c, const std::string& why, bool refused,
                       errc code = errc::unavailable) {
  auto& ch = self->state.channels[c];
  if (ch.link) self->send_exit(ch.link, caf::exit_reason::user_shutdown);
  ch.link = nullptr;
  ch.connecting = false;
  ch.ready = false;
  ++ch.next;
  ch.last_error = why;
  ch.last_code = code;
  ch.refusals = refused ? ch.refusals + 1 : 0;
  if (ch.refusals >= ch.addresses.size()) {
    ch.refusals = 0;
    return fail_all(self, c, false, make_error(ch.last_code, ch.last_error));
  }
  if (refused) return connect(self, c);
  ch.retry_at = self->clock().now() + std::chrono::milliseconds{100};  // the tick retries
}

// The connection of channel `c` is gone: what was sent on it has an unknown outcome; what was
// not is sent on the next connection.
void on_lost(client_pointer self, uint32_t c, const std::string& why) {
  auto& ch = self->state.channels[c];
  if (!ch.ready)
    return on_connect_failed(
        self, c, "cannot talk to " + ch.addresses[ch.next % ch.addresses.size()] + ": " + why, true,
        why.rfind("TLS handshake failed", 0) == 0 ? errc::unauthenticated : errc::unavailable);
  if (ch.link) self->send_exit(ch.link, caf::exit_reason::user_shutdown);
  ch.link = nullptr;
  ch.ready = false;
  ch.out.clear();
  fail_all(self, c, true,
           make_error(errc::timeout, "the connection to the node was lost (" + why +
                                         "); the outcome is unknown (a write may or may not "
                                         "have been applied)"));
  if (has_unsent(self->state, c)) connect(self, c);
}

void connect(client_pointer self, uint32_t c) {
  auto& ch = self->state.channels[c];
  if (ch.connecting || ch.link) return;
  ch.connecting = true;
  ch.ready = false;
  auto generation = ++ch.generation;
  auto target = ch.addresses[ch.next % ch.addresses.size()];
  auto hp = actors::parse_host_port(target);
  if (!hp) return on_connect_failed(self, c, target + ": " + message_of(hp.error()), true);
  // Connecting blocks (CAF 0.17 has no asynchronous connect for brokers): a detached helper
  // does it, so that an unreachable address never holds up the client.
  if (self->state.tls_error) {
    ch.connecting = false;
    return fail_all(self, c, false, self->state.tls_error);
  }
  auto owner = caf::actor_cast<caf::actor>(self);
  self->system().spawn<caf::detached>([owner, c, generation, hp = *hp, target,
                                       tls = self->state.tls](caf::event_based_actor* helper) {
    auto& sys = helper->system();
    auto refusal = std::make_shared<std::string>();
    auto scribe = actors::connect_scribe(
        actors::multiplexer_of(sys), hp.host, hp.port, tls, hp.host, nullptr, false,
        [refusal](const std::string&, const std::string& why) { *refusal = why; });
    if (scribe) {
      auto conn =
          sys.middleman().spawn_broker(link, std::move(*scribe), owner, c, generation, refusal);
      helper->send(owner, up_atom::value, c, generation, conn);
    } else {
      helper->send(owner, failed_atom::value, c, generation,
                   "cannot reach " + target + ": " + sys.render(scribe.error()));
    }
    helper->quit();
  });
}

void on_up(client_pointer self, uint32_t c, uint64_t generation, caf::actor conn) {
  auto& ch = self->state.channels[c];
  if (generation != ch.generation || ch.link) {
    self->send_exit(conn, caf::exit_reason::user_shutdown);
    return;
  }
  ch.link = conn;
  self->monitor(conn);
  ch.reader = protocol::frame_reader{max_node_frame_bytes};
  ch.hello_deadline = self->clock().now() + self->state.cfg.connect_timeout;
  msg::ClientFrame hello;
  hello.mutable_hello()->set_version(protocol::version);
  hello.mutable_hello()->set_client(self->state.cfg.name);
  hello.mutable_hello()->set_token(self->state.cfg.token);
  std::string bytes;
  protocol::append_frame(bytes, hello);
  caf::anon_send(conn, std::move(bytes));
}

// Checks for connections due a ping a few times per ping interval, while any is open.
void schedule_ping(client_pointer self) {
  auto& st = self->state;
  if (st.ping_queued) return;
  caf::timespan every{0};
  for (auto& ch : st.channels)
    if (ch.ready && ch.ping_after.count() > 0 && (every.count() == 0 || ch.ping_after < every))
      every = ch.ping_after;
  if (every.count() == 0) return;
  st.ping_queued = true;
  self->delayed_send(self, every / 4, ping_atom::value);
}

// Pings each open connection that sent nothing for its ping interval, so that the node does
// not close it as idle under a request about to be sent. The answer (a pong, for an id nobody
// waits for) is ignored.
void on_ping_time(client_pointer self) {
  auto& st = self->state;
  st.ping_queued = false;
  auto now = self->clock().now();
  for (auto& ch : st.channels) {
    if (!ch.ready || !ch.link || ch.ping_after.count() == 0 || now - ch.last_sent < ch.ping_after)
      continue;
    msg::ClientFrame frame;
    frame.mutable_request()->set_id(st.next_id++);
    frame.mutable_request()->mutable_ping();
    protocol::append_frame(ch.out, frame);
    schedule_flush(self);
  }
  schedule_ping(self);
}

void on_hello(client_pointer self, uint32_t c, const msg::HelloReply& hello) {
  auto& ch = self->state.channels[c];
  if (hello.has_error())
    return on_connect_failed(self, c,
                             ch.addresses[ch.next % ch.addresses.size()] +
                                 " refused the hello: " + hello.error().message(),
                             true, static_cast<errc>(hello.error().code()));
  ch.connecting = false;
  ch.ready = true;
  ch.refusals = 0;
  ch.max_frame_bytes = hello.max_frame_bytes() > 0 ? hello.max_frame_bytes() : ch.max_frame_bytes;
  ch.ping_after = std::chrono::milliseconds{hello.idle_timeout_ms() / 2};
  ch.last_sent = self->clock().now();  // the hello
  schedule_ping(self);
  send_unsent(self, c);
}

void on_response(client_pointer self, msg::Response& response) {
  auto& flights = self->state.in_flight;
  auto i = flights.find(response.id());
  if (i == flights.end()) return;  // answered already: its deadline passed
  auto deliver = std::move(i->second.deliver);
  flights.erase(i);
  deliver(response);
}

void on_bytes(client_pointer self, uint32_t c, uint64_t generation, const std::string& bytes) {
  auto& ch = self->state.channels[c];
  if (generation != ch.generation || !ch.link) return;
  ch.reader.feed(bytes);
  while (true) {
    auto next = ch.reader.next();
    if (!next) return on_lost(self, c, message_of(next.error()));
    if (!*next) return;
    auto frame = protocol::decode_node_frame(**next);
    if (!ch.ready && (!frame || !frame->has_hello()))
      return on_lost(self, c,
                     "it does not answer the hello: not a ringkv " + std::string{ch.what} +
                         " listener (a peer listener, or another program?)");
    if (!frame) return on_lost(self, c, message_of(frame.error()));
    switch (frame->frame_case()) {
      case msg::NodeFrame::kHello:
        if (ch.ready) return on_lost(self, c, "a second hello from the node");
        on_hello(self, c, frame->hello());
        break;
      case msg::NodeFrame::kResponse:
        if (!ch.ready) return on_lost(self, c, "a response before the hello");
        on_response(self, *frame->mutable_response());
        break;
      case msg::NodeFrame::kGoodbye:
        return on_lost(self, c,
                       "the node said goodbye: " +
                           std::string{to_string(static_cast<errc>(frame->goodbye().code()))} +
                           " " + frame->goodbye().message());
      default:
        return on_lost(self, c, "a frame of an unknown kind");
    }
    if (generation != ch.generation || !ch.link) return;  // the connection was dropped
  }
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
  for (uint32_t c = 0; c < st.channels.size(); ++c) {
    auto& ch = st.channels[c];
    if (ch.link && !ch.ready && now >= ch.hello_deadline)
      on_connect_failed(self, c,
                        "cannot reach " + ch.addresses[ch.next % ch.addresses.size()] +
                            ": connected, but no answer to the hello within the connect timeout",
                        false);
    if (!ch.link && !ch.connecting && now >= ch.retry_at && has_unsent(st, c)) connect(self, c);
  }
  while (!st.deadlines.empty() && st.deadlines.top().first <= now) {
    auto id = st.deadlines.top().second;
    st.deadlines.pop();
    if (auto i = st.in_flight.find(id); i != st.in_flight.end()) {
      auto fail = std::move(i->second.fail);
      auto sent = i->second.sent;
      auto& ch = st.channels[i->second.channel];
      st.in_flight.erase(i);
      if (sent)
        fail(make_error(
            errc::timeout,
            "no answer from the node in time; a write may or may not have been applied"));
      else
        fail(make_error(errc::unavailable, ch.last_error.empty()
                                               ? std::string{"could not reach a node in time"}
                                               : ch.last_error));
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

void set_call(msg::Request& r, msg::PutRequest&& x) {
  *r.mutable_put() = std::move(x);
}
void set_call(msg::Request& r, msg::GetRequest&& x) {
  *r.mutable_get() = std::move(x);
}
void set_call(msg::Request& r, msg::DeleteRequest&& x) {
  *r.mutable_del() = std::move(x);
}
void set_call(msg::Request& r, msg::StatusRequest&& x) {
  *r.mutable_status() = std::move(x);
}
void set_call(msg::Request& r, msg::RingRequest&& x) {
  *r.mutable_ring() = std::move(x);
}
void set_call(msg::Request& r, msg::FailActorRequest&& x) {
  *r.mutable_fail_actor() = std::move(x);
}
void set_call(msg::Request& r, msg::ExplainRequest&& x) {
  *r.mutable_explain() = std::move(x);
}
void set_call(msg::Request& r, msg::LeaveRequest&& x) {
  *r.mutable_leave() = std::move(x);
}
void set_call(msg::Request& r, msg::RemoveMemberRequest&& x) {
  *r.mutable_remove() = std::move(x);
}
void set_call(msg::Request& r, msg::TransfersRequest&& x) {
  *r.mutable_transfers() = std::move(x);
}
void set_call(msg::Request& r, msg::HintsRequest&& x) {
  *r.mutable_hints() = std::move(x);
}
void set_call(msg::Request& r, msg::CompactionRequest&& x) {
  *r.mutable_compaction() = std::move(x);
}
void set_call(msg::Request& r, msg::RepairStatusRequest&& x) {
  *r.mutable_repair_status() = std::move(x);
}

msg::PutReply* reply_in(msg::Response& r, msg::PutReply*) {
  return r.has_put() ? r.mutable_put() : nullptr;
}
msg::GetReply* reply_in(msg::Response& r, msg::GetReply*) {
  return r.has_get() ? r.mutable_get() : nullptr;
}
msg::DeleteReply* reply_in(msg::Response& r, msg::DeleteReply*) {
  return r.has_del() ? r.mutable_del() : nullptr;
}
msg::StatusReply* reply_in(msg::Response& r, msg::StatusReply*) {
  return r.has_status() ? r.mutable_status() : nullptr;
}
msg::RingReply* reply_in(msg::Response& r, msg::RingReply*) {
  return r.has_ring() ? r.mutable_ring() : nullptr;
}
msg::FailActorReply* reply_in(msg::Response& r, msg::FailActorReply*) {
  return r.has_fail_actor() ? r.mutable_fail_actor() : nullptr;
}
msg::ExplainReply* reply_in(msg::Response& r, msg::ExplainReply*) {
  return r.has_explain() ? r.mutable_explain() : nullptr;
}
msg::LeaveReply* reply_in(msg::Response& r, msg::LeaveReply*) {
  return r.has_leave() ? r.mutable_leave() : nullptr;
}
msg::RemoveMemberReply* reply_in(msg::Response& r, msg::RemoveMemberReply*) {
  return r.has_remove() ? r.mutable_remove() : nullptr;
}
msg::TransfersReply* reply_in(msg::Response& r, msg::TransfersReply*) {
  return r.has_transfers() ? r.mutable_transfers() : nullptr;
}
msg::HintsReply* reply_in(msg::Response& r, msg::HintsReply*) {
  return r.has_hints() ? r.mutable_hints() : nullptr;
}
msg::CompactionReply* reply_in(msg::Response& r, msg::CompactionReply*) {
  return r.has_compaction() ? r.mutable_compaction() : nullptr;
}
msg::RepairStatusReply* reply_in(msg::Response& r, msg::RepairStatusReply*) {
  return r.has_repair_status() ? r.mutable_repair_status() : nullptr;
}

// Tracks `req` until its answer arrives, its connection drops, or its deadline (plus the
// grace period) passes.
template <class Reply, class Request>
caf::result<Reply> submit(client_pointer self, uint32_t c, Request req,
                          std::chrono::milliseconds timeout) {
  auto& st = self->state;
  if (auto err = check_size(st, req)) return err;
  auto promise = self->make_response_promise<Reply>();
  pending p;
  p.channel = c;
  set_call(p.request, std::move(req));
  p.fail = [promise](caf::error err) mutable { promise.deliver(std::move(err)); };
  p.deliver = [promise](msg::Response& response) mutable {
    if (response.has_error())
      promise.deliver(actors::from_wire(response.error()));
    else if (auto* reply = reply_in(response, static_cast<Reply*>(nullptr)))
      promise.deliver(std::move(*reply));
    else
      promise.deliver(make_error(errc::internal, "the node answered with another kind of result"));
  };
  auto id = st.next_id++;
  st.deadlines.emplace(self->clock().now() + timeout + st.cfg.grace, id);
  auto& entry = st.in_flight.emplace(id, std::move(p)).first->second;
  schedule_tick(self);
  if (st.channels[c].ready)
    send(self, id, entry);
  else
    connect(self, c);
  return promise;
}

template <class Request>
Request with_timeout(const client_state& st, Request req) {
  auto* opts = req.mutable_options();
  if (opts->timeout_ms() == 0)
    opts->set_timeout_ms(static_cast<uint32_t>(st.cfg.default_timeout.count()));
  return req;
}

// A put, get or delete, with the client's default timeout when it sets none.
template <class Reply, class Request>
caf::result<Reply> submit_call(client_pointer self, Request req) {
  req = with_timeout(self->state, std::move(req));
  auto t = effective_timeout(self->state, req.options().timeout_ms());
  return submit<Reply>(self, data_channel, std::move(req), t);
}

template <class Reply, class Request>
caf::result<Reply> submit_admin(client_pointer self, Request req) {
  return submit<Reply>(self, admin_channel, std::move(req), self->state.cfg.default_timeout);
}

// kvnode's default admin listener for a client listener: the port + 200.
std::string admin_address_of(const std::string& node) {
  auto hp = actors::parse_host_port(node);
  if (!hp || hp->port > 65335) return node;
  hp->port = static_cast<uint16_t>(hp->port + 200);
  return actors::to_string(*hp);
}

client_impl::behavior_type client(client_pointer self, client_config cfg) {
  actors::shield(self, "client");
  auto& st = self->state;
  st.cfg = std::move(cfg);
  if (st.cfg.nodes.empty()) st.cfg.nodes.push_back("127.0.0.1:7101");
  if (st.cfg.admin_nodes.empty())
    for (auto& node : st.cfg.nodes) st.cfg.admin_nodes.push_back(admin_address_of(node));
  st.channels[data_channel].what = "client";
  st.channels[data_channel].addresses = st.cfg.nodes;
  st.channels[admin_channel].what = "admin";
  st.channels[admin_channel].addresses = st.cfg.admin_nodes;
  if (!st.cfg.ca.empty() || !st.cfg.cert.empty() || !st.cfg.key.empty()) {
    auto tls = actors::tls_context::load({st.cfg.cert, st.cfg.key, st.cfg.ca},
                                         actors::tls_side::client, actors::cert_kind::node);
    if (tls)
      st.tls = std::move(*tls);
    else
      st.tls_error = std::move(tls.error());
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    for (uint32_t c = 0; c < st.channels.size(); ++c)
      if (st.channels[c].link && dm.source == st.channels[c].link.address())
        return on_lost(self, c, "the connection's broker stopped");
  });
  return {
      [self](msg::PutRequest& req) { return submit_call<msg::PutReply>(self, std::move(req)); },
      [self](msg::GetRequest& req) { return submit_call<msg::GetReply>(self, std::move(req)); },
      [self](msg::DeleteRequest& req) {
        return submit_call<msg::DeleteReply>(self, std::move(req));
      },
      [self](msg::StatusRequest& req) {
        return submit<msg::StatusReply>(self, data_channel, std::move(req),
                                        self->state.cfg.default_timeout);
      },
      [self](msg::RingRequest& req) {
        return submit<msg::RingReply>(self, data_channel, std::move(req),
                                      self->state.cfg.default_timeout);
      },
      [self](msg::FailActorRequest& req) {
        return submit_admin<msg::FailActorReply>(self, std::move(req));
      },
      [self](msg::ExplainRequest& req) {
        auto t = effective_timeout(self->state, req.options().timeout_ms());
        return submit<msg::ExplainReply>(self, admin_channel, std::move(req), t);
      },
      [self](msg::LeaveRequest& req) {
        return submit_admin<msg::LeaveReply>(self, std::move(req));
      },
      [self](msg::TransfersRequest& req) {
        return submit_admin<msg::TransfersReply>(self, std::move(req));
      },
      [self](msg::RemoveMemberRequest& req) {
        return submit_admin<msg::RemoveMemberReply>(self, std::move(req));
      },
      [self](msg::RepairStatusRequest& req) {
        return submit_admin<msg::RepairStatusReply>(self, std::move(req));
      },
      [self](msg::HintsRequest& req) {
        return submit_admin<msg::HintsReply>(self, std::move(req));
      },
      [self](msg::CompactionRequest& req) {
        return submit_admin<msg::CompactionReply>(self, std::move(req));
      },
      [self](tick_atom) { on_tick(self); },
      [self](flush_atom) { flush(self); },
      [self](ping_atom) { on_ping_time(self); },
      [self](bytes_atom, uint32_t c, uint64_t generation, const std::string& bytes) {
        on_bytes(self, c, generation, bytes);
      },
      [self](up_atom, uint32_t c, uint64_t generation, caf::actor conn) {
        on_up(self, c, generation, std::move(conn));
      },
      [self](failed_atom, uint32_t c, uint64_t generation, const std::string& why) {
        auto& ch = self->state.channels[c];
        if (generation == ch.generation && ch.connecting && !ch.link)
          on_connect_failed(self, c, why, true);
      },
      [self](lost_atom, uint32_t c, uint64_t generation, const std::string& why) {
        if (generation == self->state.channels[c].generation && self->state.channels[c].link)
          on_lost(self, c, why);
      },
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
  cfg.set("logger.verbosity", caf::atom("quiet"));
  // Work sharing wakes an idle thread at once (work stealing sleeps with back-off).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("middleman.workers", size_t{0});
}

void apply_credential_defaults(client_config& cfg) {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string{v} : std::string{};
  };
  bool given = !cfg.cert.empty() || !cfg.key.empty() || !cfg.ca.empty() || !cfg.token.empty();
  if (given) return;  // flags or arguments: the defaults would only mix in other credentials
  cfg.cert = env("RINGKV_CERT");
  cfg.key = env("RINGKV_KEY");
  cfg.ca = env("RINGKV_CA");
  cfg.token = env("RINGKV_TOKEN");
  if (!cfg.cert.empty() || !cfg.key.empty() || !cfg.ca.empty() || !cfg.token.empty()) return;
  auto dir = env("RINGKV_CREDENTIALS");
  if (dir.empty() && !env("HOME").empty()) dir = env("HOME") + "/.ringkv";
  if (dir.empty()) return;
  auto exists = [](const std::string& path) { return ::access(path.c_str(), R_OK) == 0; };
  if (!exists(dir + "/ca.pem")) return;
  cfg.ca = dir + "/ca.pem";
  if (exists(dir + "/client.pem") && exists(dir + "/client.key")) {
    cfg.cert = dir + "/client.pem";
    cfg.key = dir + "/client.key";
  }
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
