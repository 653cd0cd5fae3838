// actors/net/tls_scribe.hpp
// TLS under CAF's brokers: a scribe (one connection, as the middleman multiplexes it) whose
// bytes go through a tls_session (actors/net/tls.hpp), or straight to the socket when TLS is
// off. Everything above it, BASP and ringkv's own brokers, reads and writes plaintext
// unchanged. The node's doors accept through tls_doorman; outgoing connections, a node's to
// its peers and a client's to a node, come from connect_scribe.
//
// What a scribe learns in its handshake is kept in a tls_directory for the layers that see only
// a connection handle (a door's broker, at the hello) or a BASP node (gossip, which checks that
// a peer speaks under the member id its certificate names).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "actors/net/tls.hpp"
#include "caf/io/connection_handle.hpp"
#include "caf/io/middleman_actor.hpp"
#include "caf/io/network/stream_impl.hpp"
#include "caf/io/scribe.hpp"
#include "caf/node_id.hpp"

namespace caf::io::network {
class default_multiplexer;
}  // namespace caf::io::network

namespace kv::actors {

// Who is behind which connection and which BASP node. Thread-safe: scribes write it in the
// multiplexer's thread, gossip reads it in its own.
class tls_directory {
 public:
  void connected(caf::io::connection_handle hdl, tls_identity who);
  void disconnected(caf::io::connection_handle hdl);
  std::optional<tls_identity> at(caf::io::connection_handle hdl) const;

  // A connection carries BASP node `node` under the certificate of member `member`. False (and
  // nothing recorded) when another live connection certifies `node` as a different member.
  bool certify(const caf::node_id& node, const std::string& member);
  void uncertify(const caf::node_id& node);
  // The member id the certificate of `node`'s connection names, while it is connected.
  std::optional<std::string> member_of(const caf::node_id& node) const;

 private:
  mutable std::mutex mutex_;
  std::map<caf::io::connection_handle, tls_identity> connections_;
  std::map<caf::node_id, std::pair<std::string, size_t>> nodes_;  // member, connections
};

// Reports from a scribe: a handshake refused (with the other side's "ip:port" and why).
using tls_refusal_hook = std::function<void(const std::string& peer, const std::string& why)>;

class tls_scribe;

// The stream policy: a TLS session's reads and writes in place of the socket's.
class tls_policy {
 public:
  explicit tls_policy(tls_scribe* owner) : owner_(owner) {}
  caf::io::network::rw_state read_some(size_t& result, caf::io::network::native_socket fd,
                                       void* buf, size_t len);
  caf::io::network::rw_state write_some(size_t& result, caf::io::network::native_socket fd,
                                        const void* buf, size_t len);
  bool must_read_more(caf::io::network::native_socket fd, size_t threshold);

 private:
  // What the stream makes of a session's outcome; reports a failure's reason.
  caf::io::network::rw_state state_of(tls_io io);

  tls_scribe* owner_;
};

class tls_scribe : public caf::io::scribe {
 public:
  // `session`: null for a plain connection. `directory`: where the peer's identity goes once
  // known (may be null). `basp`: the connection carries BASP between nodes, so its first frame
  // header names the other node, which is certified under the certificate's CN.
  tls_scribe(caf::io::network::default_multiplexer& mpx, caf::io::network::native_socket fd,
             std::unique_ptr<tls_session> session, std::shared_ptr<tls_directory> directory,
             tls_refusal_hook on_refused, bool basp);
  ~tls_scribe() override;

  void configure_read(caf::io::receive_policy::config config) override;
  void ack_writes(bool enable) override;
  std::vector<char>& wr_buf() override;
  std::vector<char>& rd_buf() override;
  void graceful_shutdown() override;
  void flush() override;
  std::string addr() const override;
  uint16_t port() const override;
  void add_to_loop() override;
  void remove_from_loop() override;
  bool consume(caf::execution_unit* ctx, const void* buf, size_t size) override;

  bool secure() const { return session_ != nullptr; }

 protected:
  // Fails the connection: the layer above sees it closed.
  void fail();

 private:
  friend class tls_policy;
  void handshake_done();
  void refused(const std::string& why);
  bool certify(const void* buf, size_t size);

  std::unique_ptr<tls_session> session_;
  std::shared_ptr<tls_directory> directory_;
  tls_refusal_hook on_refused_;
  std::string peer_;  // "ip:port", kept for reports after the socket is gone
  bool basp_;
  bool launched_ = false;
  bool flush_held_ = false;  // the layer above flushed before the handshake was done
  bool refusal_reported_ = false;
  bool handshake_payload_ = false;    // the next bytes are a BASP handshake's payload
  std::optional<caf::node_id> node_;  // certified in the directory
  caf::io::network::stream_impl<tls_policy> stream_;
};

// A listener's acceptor whose connections are tls_scribes (plain ones when `ctx` is null).
[[nodiscard]] caf::expected<caf::io::doorman_ptr> open_tls_doorman(
    caf::io::network::default_multiplexer& mpx, const std::string& host, uint16_t port,
    std::shared_ptr<tls_context> ctx, std::shared_ptr<tls_directory> directory,
    tls_refusal_hook on_refused);

// Connects to host:port (blocking) and returns the connection as a scribe: TLS through `ctx`
// when it is given, checking that the certificate names `verify_host` when that is not empty.
[[nodiscard]] caf::expected<caf::io::scribe_ptr> connect_scribe(
    caf::io::network::default_multiplexer& mpx, const std::string& host, uint16_t port,
    std::shared_ptr<tls_context> ctx, const std::string& verify_host,
    std::shared_ptr<tls_directory> directory, bool basp, tls_refusal_hook on_refused = nullptr);

// The multiplexer of `sys`'s middleman (ringkv runs only the default one).
caf::io::network::default_multiplexer& multiplexer_of(caf::actor_system& sys);

// What gossip needs to reach its peers over TLS and to know who they are.
struct peer_access {
  caf::io::middleman_actor connector;        // spawn_tls_middleman
  std::shared_ptr<tls_directory> directory;  // the member each connected node is certified as
};

// A middleman actor that connects to peers through connect_scribe: what gossip asks to reach
// another node (connect_atom, host, port) when the peer door speaks TLS.
caf::io::middleman_actor spawn_tls_middleman(caf::actor_system& sys,
                                             std::shared_ptr<tls_context> ctx,
                                             std::shared_ptr<tls_directory> directory);

}  // namespace kv::actors
