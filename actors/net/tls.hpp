// actors/net/tls.hpp
// TLS as ringkv speaks it (docs/security.md), with OpenSSL and no actor in sight: a context per
// door and side that holds this process's certificate and the cluster CA, and a session per
// connection that runs the handshake over a non-blocking socket and reads and writes through
// it. Both sides always verify each other against the cluster CA (mutual TLS, TLS 1.2 at least),
// and each door accepts one kind of certificate: scripts/certs.sh writes the kind in the
// subject's OU, "node" for members and "client" for people's programs. A session names who is
// on the other side (the certificate's CN) once its handshake is done, and why it failed when
// it did. The CAF transport over it is actors/net/tls_scribe.hpp; the HTTP API uses sessions
// directly.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "caf/expected.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace kv::actors {

// Where this process's certificate, its key and the cluster CA are (PEM files).
struct tls_files {
  std::string cert;
  std::string key;
  std::string ca;

  bool given() const { return !cert.empty() || !key.empty() || !ca.empty(); }
};

// The kind of a certificate, from its subject's OU.
enum class cert_kind { node, client };

const char* to_string(cert_kind k);

// Who a verified certificate names.
struct tls_identity {
  std::string name;  // the subject's CN: a member id, or a principal
  cert_kind kind = cert_kind::client;
};

enum class tls_side { server, client };

class tls_context {
 public:
  // A context for `side` that presents `files.cert` and accepts, from the other side, only
  // certificates of kind `accepts` signed by `files.ca`. A server needs all three files; a
  // client needs the CA, and may go without a certificate (it then authenticates with a
  // token). Every error names the file and what is wrong with it. `optional_peer_cert`: a
  // server that lets clients without a certificate in (they then present a token); one that
  // presents a certificate is verified all the same.
  [[nodiscard]] static caf::expected<std::shared_ptr<tls_context>> load(
      const tls_files& files, tls_side side, cert_kind accepts, bool optional_peer_cert = false);

  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  tls_side side() const { return side_; }
  cert_kind accepts() const { return accepts_; }
  ssl_ctx_st* native() const { return ctx_; }

 private:
  tls_context(ssl_ctx_st* ctx, tls_side side, cert_kind accepts)
      : ctx_(ctx), side_(side), accepts_(accepts) {}

  ssl_ctx_st* ctx_;
  tls_side side_;
  cert_kind accepts_;
};

// What a read or write did.
enum class tls_io {
  done,    // bytes moved (or, for a read, the handshake moved on)
  again,   // nothing to do until the socket is readable or writable again
  closed,  // the other side closed the connection
  failed,  // a handshake refused or a protocol error: failure() says why
};

// One connection's TLS session over the socket `fd`, which the caller owns and keeps open
// while the session lives. The handshake runs inside reads and writes; a client-side session
// starts it at once (its first flight goes out before the caller writes anything).
class tls_session {
 public:
  // `host`: for a client, the name or address the certificate must hold (empty: not checked,
  // as between nodes, whose identity is their certificate's CN).
  [[nodiscard]] static caf::expected<std::unique_ptr<tls_session>> open(
      std::shared_ptr<tls_context> ctx, int fd, const std::string& host = {});

  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  // Reads up to `len` bytes into `buf`; `n` is how many.
  tls_io read(void* buf, size_t len, size_t& n);
  // Writes up to `len` bytes of `buf`; `n` is how many were taken.
  tls_io write(const void* buf, size_t len, size_t& n);
  // Decrypted bytes held inside the session: readable now, though the socket may not be.
  size_t pending() const;
  // After a read or write answered again: true when the session waits for the socket to take
  // bytes, false when it waits for bytes to arrive.
  bool wants_write() const;
  // Sends close_notify, best effort (no wait for the other side's): the other side then knows
  // the connection ended on purpose. For a caller that closes the socket next.
  void close_notify();

  bool handshaken() const;
  // The other side's verified certificate, once the handshake is done.
  const std::optional<tls_identity>& peer() const { return peer_; }
  // Why the session failed (after a read or write answered failed).
  const std::string& failure() const { return failure_; }

  // For the verification callback: the kind this session accepts, and where it leaves why it
  // refused a certificate.
  cert_kind accepts() const { return ctx_->accepts(); }
  void refuse(std::string why) { refused_ = std::move(why); }

 private:
  tls_session(std::shared_ptr<tls_context> ctx, ssl_st* ssl) : ctx_(std::move(ctx)), ssl_(ssl) {}
  tls_io outcome(int ret);

  std::shared_ptr<tls_context> ctx_;
  ssl_st* ssl_;
  std::optional<tls_identity> peer_;
  std::string failure_;
  std::string refused_;  // set by the verification callback
};

}  // namespace kv::actors
