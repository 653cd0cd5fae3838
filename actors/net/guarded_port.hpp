// actors/net/guarded_port.hpp
// The node's listening port: CAF's BASP protocol behind a guard. CAF's own acceptor hands every
// byte to BASP, which drops a connection with a malformed header without a trace, waits forever
// on a truncated frame, and allocates whatever payload length a header claims (up to 4 GiB).
// The guard sits between each accepted socket and BASP: it checks every frame header before
// BASP sees it, caps the frame size, closes connections that do not finish their handshake or
// a started frame in time, caps the number of open connections, and logs each of these with
// the peer's address (at most a few lines a second: a flood does not become a log flood).
// Connections that pass are plain BASP, so other nodes and clients talk to a guarded port
// unchanged.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "actors/net/tls.hpp"
#include "actors/node/config.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

namespace kv::actors {

struct port_guard_config {
  size_t max_frame_bytes = size_t{4} << 20;
  std::chrono::milliseconds handshake_timeout{3000};
  std::chrono::milliseconds frame_timeout{3000};
  uint32_t max_connections = 1024;  // open at once; more are closed as they come
  // Mutual TLS (actors/net/tls_scribe.hpp): when set, a connection must complete a TLS
  // handshake with a node certificate of the cluster CA before BASP sees a byte, and its BASP
  // node is certified in `directory` as the member the certificate names.
  std::shared_ptr<tls_context> tls;
  std::shared_ptr<class tls_directory> directory;
  // Told of every connection refused, with the peer and why (the audit log).
  std::function<void(const std::string& peer, const std::string& why)> on_refused;
};

struct port_guard_stats {
  uint64_t accepted = 0;
  uint64_t rejected = 0;  // closed by the guard: bad header, oversized frame, too slow
};

class port_guard {
 public:
  // Listens on `at` and publishes `whom` there with the message interface `interface`
  // (actor_system::message_types of its handle).
  [[nodiscard]] static caf::expected<std::shared_ptr<port_guard>> publish(
      caf::actor_system& sys, caf::strong_actor_ptr whom, std::set<std::string> interface,
      const host_port& at, port_guard_config cfg);

  uint16_t port() const { return port_; }
  port_guard_stats stats() const;

  // Closes connections that missed their handshake or frame deadline. Thread-safe: the work
  // runs in the multiplexer's thread. kvnode calls it twice a second.
  void sweep();

  struct state;

 private:
  port_guard(std::shared_ptr<state> st, uint16_t port) : state_(std::move(st)), port_(port) {}
  std::shared_ptr<state> state_;
  uint16_t port_;
};

}  // namespace kv::actors
