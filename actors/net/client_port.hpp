// actors/net/client_port.hpp
// A door for people's programs: the client protocol (docs/protocol.md) on a listener of its
// own, served by one CAF broker in the middleman's multiplexer. The broker splits each
// connection's bytes into frames (messages/framing.hpp), answers the hello, and sends each
// request straight to the actor that serves it (the coordinator for put, get and delete, the
// node actor for status and ring, ...), found through the registry on every request. Answers
// go back as they come, in any order, tagged with the request's id.
//
// A node opens two doors of this kind:
//   - the client door (--listen): put, get, delete, status, ring and ping;
//   - the admin door (--admin-listen, loopback by default): status, ring, ping and the operator
//     verbs (fail-actor, explain, leave, remove, transfers, hints, compaction, repair-status).
// A call a door does not serve is answered INVALID_ARGUMENT and counted; nothing that arrives
// on a door names an actor, so no byte from a client can reach one the door does not serve.
//
// Who may call (docs/security.md): with TLS, a connection must complete its handshake with a
// client certificate of the cluster CA first. With an ACL, the hello must carry credentials: the
// certificate's name, or a bearer token, names the principal, and each call is checked against
// its rights (read or write in the request's namespace, monitor for status and ring, admin for
// every call of the admin door but ping). Refusals answer UNAUTHENTICATED or PERMISSION_DENIED
// and go to the audit log, as does every operator verb.
//
// Every input is bounded: frames by max_frame_bytes (a larger header closes the connection
// with a goodbye), unanswered requests by max_in_flight (then the connection is not read until
// some are answered), connections by max_connections, and time by the handshake, frame and idle
// timeouts.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/node/config.hpp"
#include "caf/actor.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

namespace kv::actors {

class acl_holder;
class audit_log;
class registry;
class tls_context;
class tls_directory;

enum class door { client, admin };

// "client", "admin": the door's name in logs and metrics.
const char* to_string(door d);

struct door_config {
  door kind = door::client;
  host_port at;
  std::string node_id;
  uint32_t max_frame_bytes = uint32_t{4} << 20;
  milliseconds handshake_timeout{3000};  // from accept to the hello
  milliseconds frame_timeout{3000};      // from a frame's first byte to its last
  milliseconds idle_timeout{300000};     // without a byte from the client (and nothing owed)
  uint32_t max_in_flight = 1024;
  uint32_t max_connections = 1024;
  std::shared_ptr<tls_context> tls;  // null: plain TCP
  std::shared_ptr<acl_holder> acl;   // null: no credentials checked, every call served
  std::shared_ptr<audit_log> audit;  // null: nothing audited
  bool chaos = false;                // fail-actor is served (kvnode --chaos)
};

// Read from any thread (GET /metrics).
struct door_counters {
  std::atomic<uint64_t> accepted{0};  // connections
  std::atomic<uint64_t> closed{0};    // connections the node closed: bad frames, timeouts, limit
  std::atomic<uint64_t> requests{0};  // requests answered, errors included
  std::atomic<uint64_t> refused{0};   // calls this door does not serve
};

struct door_handle {
  caf::actor broker;
  uint16_t port = 0;  // the bound port (cfg.at.port unless that was 0)
  std::shared_ptr<door_counters> counters;
};

// Listens on cfg.at and serves the door there until the broker is sent an exit.
[[nodiscard]] caf::expected<door_handle> open_door(caf::actor_system& sys,
                                                   std::shared_ptr<registry> reg, door_config cfg);

}  // namespace kv::actors
