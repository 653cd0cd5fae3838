// actors/net/http.hpp
// The node's HTTP/1.1 endpoint (kvnode --http HOST:PORT; docs/http.md): the key-value API
// (/v1/kv/{ns}/{key}, /v1/status, /v1/ring) and the operator's probes (/health, /ready,
// /metrics). Each request is served on one of the endpoint's own threads, which asks the
// coordinator or the node actor of the moment (found by role in the registry) and waits for the
// answer, a little past the request's deadline. With TLS it speaks TLS on every connection, and
// with an ACL it asks each request for credentials and rights, as the client listener does
// (docs/security.md). Its source and actors/net/http_connection.hpp (sockets and TLS) are the
// only files that know cpp-httplib; what a request means and what an answer says is
// actors/net/http_api.hpp. Stops when destroyed, which must happen before the actor system goes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "actors/net/http_api.hpp"
#include "actors/node/config.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

namespace kv::actors {

class registry;
class tls_context;
class acl_holder;
class audit_log;

// GET /ready answers 200 only while the node is serving.
enum class readiness { starting, serving, leaving };

struct http_deps {
  caf::actor_system* sys = nullptr;          // outlives the endpoint
  std::shared_ptr<const registry> reg;       // finds "coordinator" and "node"
  std::function<readiness()> readiness_now;  // called from the endpoint's threads
  std::function<std::string()> metrics;      // the node's Prometheus text
  http_limits limits;
  std::shared_ptr<tls_context> tls;       // null: plain HTTP; else the client door's context
  std::shared_ptr<const acl_holder> acl;  // null: nothing is checked
  std::shared_ptr<audit_log> audit;       // null: nothing is recorded
};

class http_endpoint {
 public:
  // Threads serving requests; one waits on each request in flight (or keep-alive connection).
  static constexpr size_t threads = 16;

  [[nodiscard]] static caf::expected<std::unique_ptr<http_endpoint>> start(const host_port& at,
                                                                           http_deps deps);
  ~http_endpoint();

  struct impl;

 private:
  explicit http_endpoint(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace kv::actors
