// actors/net/http_connection.hpp
// The HTTP endpoint's connections, below cpp-httplib (actors/net/http.hpp): each socket is read
// through a stream of ours that polls rather than select()s and bounds what one request may
// make the endpoint read; with TLS, the stream runs the handshake and reads and writes through
// the session (actors/net/tls.hpp), and refused handshakes are logged and audited. The server
// made here runs httplib's request handling over those streams, on its own pool of threads,
// and tells the request handlers who is on the other end.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace httplib {
class Server;
}  // namespace httplib

namespace kv::actors {

class tls_context;
class audit_log;

// Who is on the other end of a connection.
struct http_peer {
  std::string address;                   // "ip:port", for logs and the audit log
  std::optional<std::string> certified;  // the CN of its client certificate, if it sent one
};

// The peer of the connection whose request the calling thread serves: httplib runs a request's
// handlers on its connection's thread and hands them only the request. Null outside them.
const http_peer* current_peer();

struct http_transport {
  size_t threads = 16;               // connections served at once; more wait in a queue
  size_t request_budget = 0;         // bytes one request may make the endpoint read, all told
  std::shared_ptr<tls_context> tls;  // null: plain HTTP; else a server-side context
  std::shared_ptr<audit_log> audit;  // where refused handshakes are recorded; may be null
};

// An httplib server, not yet bound, whose connections are served as described above. The
// caller sets its handlers, binds and listens.
std::unique_ptr<httplib::Server> make_http_server(http_transport t);

}  // namespace kv::actors
