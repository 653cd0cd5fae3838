#include "actors/net/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "messages/errc.hpp"

namespace kv::actors {

namespace {

// OpenSSL's queued errors, oldest first, as one line; empties the queue.
std::string drain_errors() {
  std::string out;
  while (auto code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    // "error:0A000086:SSL routines::certificate verify failed": the reason is the last field.
    const char* reason = std::strrchr(text, ':');
    out += reason != nullptr && reason[1] != '\0' ? reason + 1 : text;
  }
  return out;
}

// The first entry `nid` of `name` as UTF-8, or "".
std::string name_entry(X509_NAME* name, int nid) {
  int at = X509_NAME_get_index_by_NID(name, nid, -1);
  if (at < 0) return {};
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
  if (len < 0) return {};
  std::string out{reinterpret_cast<char*>(utf8), static_cast<size_t>(len)};
  OPENSSL_free(utf8);
  return out;
}

std::optional<cert_kind> kind_of(X509* cert) {
  auto ou = name_entry(X509_get_subject_name(cert), NID_organizationalUnitName);
  if (ou == "node") return cert_kind::node;
  if (ou == "client") return cert_kind::client;
  return std::nullopt;
}

// Called for each certificate of the chain the other side presented, CA first. Refuses what
// OpenSSL refused, and a leaf of the wrong kind; leaves the reason with the session.
int verify(int ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* session = static_cast<tls_session*>(SSL_get_app_data(ssl));
  if (session == nullptr) return 0;
  int depth = X509_STORE_CTX_get_error_depth(store);
  if (!ok) {
    session->refuse(std::string{"certificate refused: "} +
                    X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)) +
                    (depth == 0 ? "" : " (in its chain)"));
    return 0;
  }
  if (depth != 0) return 1;
  auto* leaf = X509_STORE_CTX_get_current_cert(store);
  auto kind = kind_of(leaf);
  if (!kind || *kind != session->accepts()) {
    auto ou = name_entry(X509_get_subject_name(leaf), NID_organizationalUnitName);
    session->refuse("certificate of the wrong kind: OU=" + (ou.empty() ? "(none)" : ou) +
                    ", this listener accepts OU=" + to_string(session->accepts()));
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

// OpenSSL's socket BIO writes with write(2): a peer gone mid-write raises SIGPIPE, which ends
// the process (a node in a chaos run died of it). This BIO is the socket BIO with send(2) and
// MSG_NOSIGNAL, so that a broken connection is an error like any other.
int send_nosignal(BIO* bio, const char* buf, int len) {
  int fd = -1;
  BIO_get_fd(bio, &fd);
  ssize_t n;
  do n = ::send(fd, buf, static_cast<size_t>(len), MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  BIO_clear_retry_flags(bio);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    const BIO_METHOD* base = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "ringkv socket");
    BIO_meth_set_write(m, send_nosignal);
    BIO_meth_set_read(m, BIO_meth_get_read(base));
    BIO_meth_set_puts(m, BIO_meth_get_puts(base));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(base));
    BIO_meth_set_create(m, BIO_meth_get_create(base));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(base));
    return m;
  }();
  return method;
}

caf::error load_error(const std::string& what, const std::string& path) {
  auto why = drain_errors();
  return make_error(errc::invalid_argument,
                    "cannot load the TLS " + what + " " + path + (why.empty() ? "" : ": " + why));
}

}  // namespace

const char* to_string(cert_kind k) {
  return k == cert_kind::node ? "node" : "client";
}

// -- tls_context ------------------------------------------------------------------------------

caf::expected<std::shared_ptr<tls_context>> tls_context::load(const tls_files& files, tls_side side,
                                                              cert_kind accepts,
                                                              bool optional_peer_cert) {
  if (files.ca.empty())
    return make_error(errc::invalid_argument, "TLS needs the cluster CA's certificate (--ca)");
  if (files.cert.empty() != files.key.empty())
    return make_error(errc::invalid_argument,
                      "a certificate needs its key, and a key its "
                      "certificate (--cert and --key)");
  if (side == tls_side::server && files.cert.empty())
    return make_error(errc::invalid_argument, "a TLS listener needs a certificate and its key");
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) return make_error(errc::internal, "cannot make a TLS context");
  std::shared_ptr<tls_context> out{new tls_context(ctx, side, accepts)};
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_num_tickets(ctx, 0);  // nothing resumes sessions: connections are long-lived
  // A peer that closes without a close_notify (a client that exits) has closed, not failed.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (!files.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1)
      return load_error("certificate", files.cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1)
      return load_error("key", files.key);
    if (SSL_CTX_check_private_key(ctx) != 1)
      return load_error("key (it does not match the certificate)", files.key);
  }
  if (SSL_CTX_load_verify_locations(ctx, files.ca.c_str(), nullptr) != 1)
    return load_error("CA", files.ca);
  SSL_CTX_set_verify(
      ctx, SSL_VERIFY_PEER | (optional_peer_cert ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT), verify);
  return out;
}

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

// -- tls_session ------------------------------------------------------------------------------

caf::expected<std::unique_ptr<tls_session>> tls_session::open(std::shared_ptr<tls_context> ctx,
                                                              int fd, const std::string& host) {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx->native());
  if (ssl == nullptr) return make_error(errc::internal, "cannot make a TLS session");
  auto side = ctx->side();
  std::unique_ptr<tls_session> out{new tls_session(std::move(ctx), ssl)};
  SSL_set_app_data(ssl, out.get());
  BIO* bio = BIO_new(socket_method());
  if (bio == nullptr) return make_error(errc::internal, "cannot attach TLS to a socket");
  BIO_set_fd(bio, fd, BIO_NOCLOSE);
  SSL_set_bio(ssl, bio, bio);  // the session owns it now
  if (side == tls_side::server) {
    SSL_set_accept_state(ssl);
    return out;
  }
  if (!host.empty()) {
    unsigned char addr[16];
    bool ip =
        inet_pton(AF_INET, host.c_str(), addr) == 1 || inet_pton(AF_INET6, host.c_str(), addr) == 1;
    auto* param = SSL_get0_param(ssl);
    if (ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1
           : (SSL_set1_host(ssl, host.c_str()) != 1 ||
              SSL_set_tlsext_host_name(ssl, host.c_str()) != 1))
      return make_error(errc::invalid_argument, "cannot check a certificate for " + host);
  }
  SSL_set_connect_state(ssl);
  size_t none = 0;
  if (out->write(nullptr, 0, none) == tls_io::failed)  // the first flight
    return make_error(errc::unavailable, out->failure());
  return out;
}

tls_session::~tls_session() {
  SSL_free(ssl_);
}

tls_io tls_session::outcome(int ret) {
  auto code = SSL_get_error(ssl_, ret);
  switch (code) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return tls_io::again;
    case SSL_ERROR_ZERO_RETURN:
      if (handshaken()) return tls_io::closed;
      failure_ = !refused_.empty() ? refused_ : "connection closed during the TLS handshake";
      return tls_io::failed;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        if (handshaken()) return tls_io::closed;
        failure_ =
            errno != 0 && ret < 0
                ? std::string{"connection lost during the TLS handshake: "} + std::strerror(errno)
                : "connection closed during the TLS handshake";
        return tls_io::failed;
      }
      [[fallthrough]];
    default: {
      auto errors = drain_errors();
      failure_ = !refused_.empty() ? refused_
                 : errors.empty()  ? "TLS error " + std::to_string(code)
                                   : "TLS: " + errors;
      return tls_io::failed;
    }
  }
}

bool tls_session::handshaken() const {
  return SSL_is_init_finished(ssl_) == 1;
}

tls_io tls_session::read(void* buf, size_t len, size_t& n) {
  n = 0;
  ERR_clear_error();
  errno = 0;
  int ret = 0;
  if (!handshaken()) {
    ret = SSL_do_handshake(ssl_);
    if (ret != 1) return outcome(ret);
  }
  if (!peer_) {
    if (auto* cert = SSL_get0_peer_certificate(ssl_)) {
      tls_identity who;
      who.name = name_entry(X509_get_subject_name(cert), NID_commonName);
      who.kind = kind_of(cert).value_or(ctx_->accepts());
      peer_ = std::move(who);
    }
  }
  if (len == 0) return tls_io::done;
  size_t got = 0;
  ret = SSL_read_ex(ssl_, buf, len, &got);
  if (ret != 1) return outcome(ret);
  n = got;
  return tls_io::done;
}

tls_io tls_session::write(const void* buf, size_t len, size_t& n) {
  n = 0;
  if (!handshaken()) {
    size_t none = 0;
    auto r = read(nullptr, 0, none);  // the handshake moves on reads and writes alike
    if (r != tls_io::done || !handshaken()) return r;
  }
  if (len == 0) return tls_io::done;
  ERR_clear_error();
  errno = 0;
  size_t put = 0;
  int ret = SSL_write_ex(ssl_, buf, len, &put);
  if (ret != 1) return outcome(ret);
  n = put;
  return tls_io::done;
}

size_t tls_session::pending() const {
  return static_cast<size_t>(SSL_pending(ssl_));
}

bool tls_session::wants_write() const {
  return SSL_want_write(ssl_) != 0;
}

void tls_session::close_notify() {
  if (!handshaken()) return;
  ERR_clear_error();
  static_cast<void>(SSL_shutdown(ssl_));  // ignored: the socket closes next, whatever it says
  ERR_clear_error();
}

}  // namespace kv::actors
