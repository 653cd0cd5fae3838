// test/support/tls_stream.hpp
// A test's own TLS connection to a node's loopback listener, blocking and bounded: it connects,
// completes a handshake as the client side of actors/net/tls.hpp (presenting the certificate of
// the context it is given) and then writes and reads plaintext through the session, every wait
// ending at a deadline. The live fuzz test sends its mutated conversations through it and the
// recording relay (relay.hpp) forwards through it; https_get and metric read a TLS node's HTTP
// API. Header-only. The stream owns its socket: it sends close_notify and closes it when it goes.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "actors/net/tls.hpp"
#include "messages/errc.hpp"
#include "test/support/process.hpp"

namespace kv::test {

// A client-side context that presents `files.cert` and accepts a node certificate of
// `files.ca` (what every listener of a node presents). Throws std::runtime_error naming what
// cannot be loaded.
inline std::shared_ptr<kv::actors::tls_context> tls_client_context(
    const kv::actors::tls_files& files) {
  auto ctx = kv::actors::tls_context::load(files, kv::actors::tls_side::client,
                                           kv::actors::cert_kind::node);
  if (!ctx) throw std::runtime_error("tls_client_context: " + kv::message_of(ctx.error()));
  return std::move(*ctx);
}

class tls_stream {
 public:
  using clock = std::chrono::steady_clock;

  // Connects to 127.0.0.1:port and runs the handshake until it completes or `deadline`;
  // ok() says which. The host is not checked (the node's certificate names the member).
  tls_stream(std::shared_ptr<kv::actors::tls_context> ctx, uint16_t port,
             clock::time_point deadline)
      : fd_(connect_loopback(port)) {
    if (fd_ < 0) {
      failure_ = "cannot connect to port " + std::to_string(port);
      return;
    }
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    // Without Nagle's algorithm: with it, the kernel holds close_notify (a small record right
    // behind the data) until the node has acknowledged what went before, and a drain that
    // follows mostly ran into its quiet timeout (5 ms for 94% of the live fuzz test's client
    // conversations, under 1 ms without). A FIN, plain TCP's end of stream, is never held.
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto opened = kv::actors::tls_session::open(std::move(ctx), fd_);
    if (!opened) {
      failure_ = kv::message_of(opened.error());
      return;
    }
    session_ = std::move(*opened);
    handshake(deadline);
  }
  ~tls_stream() {
    finish();
    if (fd_ >= 0) ::close(fd_);
  }
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  // True once the handshake completed and nothing failed since.
  bool ok() const { return session_ && session_->handshaken() && failure_.empty(); }
  const std::string& failure() const { return failure_; }
  int fd() const { return fd_; }
  // Plaintext held in the session: read_some answers without the socket being readable.
  bool buffered() const { return session_ && session_->pending() > 0; }

  // Writes all of `bytes` by `deadline`; false if the connection failed, closed or overran.
  bool write_all(std::string_view bytes, clock::time_point deadline) {
    for (size_t at = 0; at < bytes.size();) {
      if (!ok()) return false;
      size_t n = 0;
      auto io = session_->write(bytes.data() + at, bytes.size() - at, n);
      at += n;
      if (io == kv::actors::tls_io::again && !await(deadline)) return false;
      if (io == kv::actors::tls_io::closed || io == kv::actors::tls_io::failed) return fail(io);
    }
    return true;
  }

  // Reads what the session has now, without waiting: bytes read (> 0), 0 when nothing is
  // there yet, -1 once the other side closed or the session failed.
  long read_some(char* buf, size_t len) {
    if (!ok()) return -1;
    size_t n = 0;
    auto io = session_->read(buf, len, n);
    if (io == kv::actors::tls_io::done) return static_cast<long>(n);
    if (io == kv::actors::tls_io::again) return 0;
    fail(io);
    return -1;
  }

  // Reads and drops what comes until the other side closes, nothing came for `quiet`, or
  // `deadline`.
  void drain(std::chrono::milliseconds quiet, clock::time_point deadline) {
    char buf[4096];
    while (clock::now() < deadline) {
      auto n = read_some(buf, sizeof buf);
      if (n < 0) return;
      if (n > 0 || buffered()) continue;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(quiet.count())) != 1) return;
    }
  }

  // Sends close_notify (TLS's end of stream, as shutdown(SHUT_WR) is TCP's) once; reads may go
  // on.
  void finish() {
    if (finished_ || !session_) return;
    finished_ = true;
    session_->close_notify();
  }

 private:
  // The handshake moves on with each write of nothing until it completes; `again` waits for
  // the socket.
  void handshake(clock::time_point deadline) {
    while (!session_->handshaken()) {
      size_t none = 0;
      auto io = session_->write(nullptr, 0, none);
      if (io == kv::actors::tls_io::closed || io == kv::actors::tls_io::failed) {
        fail(io);
        return;
      }
      if ((io == kv::actors::tls_io::again || !session_->handshaken()) && !await(deadline)) return;
    }
  }

  // Waits for what the session asked for after `again`: the socket writable or readable.
  bool await(clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    pollfd p{fd_, static_cast<short>(session_->wants_write() ? POLLOUT : POLLIN), 0};
    if (left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) == 1) return true;
    failure_ = session_->handshaken() ? "timed out" : "timed out in the TLS handshake";
    return false;
  }

  bool fail(kv::actors::tls_io io) {
    failure_ = io == kv::actors::tls_io::closed ? "closed by the other side" : session_->failure();
    if (failure_.empty()) failure_ = "TLS failed";
    return false;
  }

  int fd_;
  std::unique_ptr<kv::actors::tls_session> session_;
  std::string failure_;
  bool finished_ = false;
};

// The body of GET `path` from a TLS HTTP endpoint on 127.0.0.1:port (Connection: close), as
// the certificate of `ctx`, or "" if no answer came within 3 s.
inline std::string https_get(std::shared_ptr<kv::actors::tls_context> ctx, uint16_t port,
                             const std::string& path) {
  auto deadline = tls_stream::clock::now() + std::chrono::seconds{3};
  tls_stream s{std::move(ctx), port, deadline};
  if (!s.write_all("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", deadline))
    return {};
  std::string reply;
  char buf[4096];
  for (long n = 0; n >= 0 && tls_stream::clock::now() < deadline;) {
    if ((n = s.read_some(buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
    pollfd p{s.fd(), POLLIN, 0};
    if (n == 0 && !s.buffered()) ::poll(&p, 1, 50);
  }
  auto body = reply.find("\r\n\r\n");
  return body == std::string::npos ? std::string{} : reply.substr(body + 4);
}

// metric() (process.hpp) for a node whose HTTP API speaks TLS: `ctx` presents the certificate
// of a principal with the monitor role.
inline double metric(std::shared_ptr<kv::actors::tls_context> ctx, uint16_t port,
                     const std::string& name) {
  return metric_in(https_get(std::move(ctx), port, "/metrics"), name);
}

}  // namespace kv::test
