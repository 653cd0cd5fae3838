#include "actors/net/http_connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>

#include <httplib.h>

#include "actors/net/tls.hpp"
#include "actors/node/audit.hpp"
#include "actors/node/log.hpp"
#include "messages/errc.hpp"

namespace kv::actors {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How a connection's TLS handshake ended.
enum class handshake_end { done, refused, stalled, stopping };

// A connection's socket as httplib reads and writes it, in place of httplib's own stream, which
// Debian builds on select(): a descriptor past FD_SETSIZE (a node with many RocksDB files
// open) would be answered 500. This one polls, reads at most a budget per request, and keeps
// what it read ahead for the next request of a keep-alive connection. With a TLS session, the
// socket is non-blocking and every byte goes through the session; each read and write still
// waits at most its timeout, however the session's records trickle in.
class connection_stream final : public httplib::Stream {
 public:
  connection_stream(int fd, std::unique_ptr<tls_session> tls, std::chrono::seconds read_timeout,
                    std::chrono::seconds write_timeout)
      : fd_(fd), tls_(std::move(tls)), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  ~connection_stream() override {
    if (tls_ && !broken_) tls_->close_notify();
  }

  // TLS only: the handshake, which must end within the read timeout. Polls in slices, so that a
  // server stopping is not held up by a silent connection.
  template <class Stopping>
  handshake_end handshake(Stopping stopping) {
    auto deadline = steady::now() + read_timeout_;
    while (!tls_->handshaken()) {
      size_t none = 0;
      auto io = tls_->read(nullptr, 0, none);
      if (io == tls_io::failed || io == tls_io::closed) {
        broken_ = true;
        return handshake_end::refused;
      }
      if (io == tls_io::done) continue;
      if (stopping()) return handshake_end::stopping;
      auto left = deadline - steady::now();
      if (left <= steady::duration::zero()) return handshake_end::stalled;
      wait(tls_events(), std::min(std::chrono::duration_cast<milliseconds>(left), slice));
    }
    return handshake_end::done;
  }
  // Why the handshake was refused (TLS only).
  const std::string& failure() const { return tls_->failure(); }
  // The client certificate's name, once the handshake is done (TLS only, and only if one came).
  std::optional<std::string> certified() const {
    if (!tls_ || !tls_->peer()) return std::nullopt;
    return tls_->peer()->name;
  }

  // True once the next request starts arriving within `timeout`.
  // Polls in slices, so that a server stopping is not held up by an idle connection.
  template <class Stopping>
  bool await_request(std::chrono::seconds timeout, Stopping stopping) const {
    auto deadline = steady::now() + timeout;
    while (!buffered()) {
      if (stopping() || steady::now() >= deadline) return false;
      if (wait(POLLIN, slice)) return true;
    }
    return true;
  }
  // The next request may make it read at most `budget` bytes.
  void start_request(size_t budget) { left_ = budget; }
  // True once a read went past the budget: the rest of the request is still unread.
  bool exhausted() const { return exhausted_; }

  bool is_readable() const override { return buffered() || wait(POLLIN, read_timeout_); }
  bool is_writable() const override { return wait(POLLOUT, write_timeout_); }

  ssize_t read(char* ptr, size_t size) override {
    if (left_ == 0) {
      exhausted_ = true;
      return -1;
    }
    if (pos_ == len_) {
      auto n = tls_ ? fill_tls() : fill_plain();
      if (n <= 0) return n;
      pos_ = 0;
      len_ = static_cast<size_t>(n);
    }
    auto n = std::min({size, len_ - pos_, left_});
    std::memcpy(ptr, buf_.data() + pos_, n);
    pos_ += n;
    left_ -= n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (tls_) return write_tls(ptr, size);
    if (!is_writable()) return -1;
    ssize_t n;
    do n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(::getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(::getsockname, ip, port);
  }
  // httplib reads this only to answer 500 to descriptors that select() cannot watch; this
  // stream polls, so it names no descriptor past FD_SETSIZE.
  socket_t socket() const override { return fd_ < FD_SETSIZE ? fd_ : INVALID_SOCKET; }

 private:
  static constexpr milliseconds slice{100};

  // Bytes that can be read without waiting: ours, or decrypted ones inside the TLS session.
  bool buffered() const { return pos_ < len_ || (tls_ && tls_->pending() > 0); }

  // What the TLS session waits for, after it answered again.
  short tls_events() const { return tls_->wants_write() ? POLLOUT : POLLIN; }

  ssize_t fill_plain() {
    if (!is_readable()) return -1;
    ssize_t n;
    do n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    while (n < 0 && errno == EINTR);
    return n;
  }

  // Reads what the TLS session has into buf_, waiting at most the read timeout; 0 once the
  // client closed, -1 on a timeout or a broken session.
  ssize_t fill_tls() {
    auto deadline = steady::now() + read_timeout_;
    while (true) {
      size_t n = 0;
      switch (tls_->read(buf_.data(), buf_.size(), n)) {
        case tls_io::done:
          if (n > 0) return static_cast<ssize_t>(n);
          break;
        case tls_io::again:
          break;
        case tls_io::closed:
          return 0;
        case tls_io::failed:
          broken_ = true;
          return -1;
      }
      if (!wait_until(tls_events(), deadline)) return -1;
    }
  }

  // Writes through the TLS session, waiting at most the write timeout; how many bytes it took.
  ssize_t write_tls(const char* ptr, size_t size) {
    auto deadline = steady::now() + write_timeout_;
    while (true) {
      size_t n = 0;
      switch (tls_->write(ptr, size, n)) {
        case tls_io::done:
          return static_cast<ssize_t>(n);
        case tls_io::again:
          break;
        case tls_io::closed:
        case tls_io::failed:
          broken_ = true;
          return -1;
      }
      if (!wait_until(tls_events(), deadline)) return -1;
    }
  }

  bool wait_until(short events, steady::time_point deadline) const {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - steady::now());
    return left > milliseconds::zero() && wait(events, left);
  }

  bool wait(short events, milliseconds timeout) const {
    pollfd p{fd_, events, 0};
    int n;
    do n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    while (n < 0 && errno == EINTR);
    return n > 0;
  }

  template <class Lookup>
  void address_of(Lookup lookup, std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    char host[NI_MAXHOST], service[NI_MAXSERV];
    if (lookup(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        ::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), service,
                      sizeof(service), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
      return;
    ip = host;
    port = std::atoi(service);
  }

  int fd_;
  std::unique_ptr<tls_session> tls_;  // null: plain HTTP
  std::chrono::seconds read_timeout_;
  std::chrono::seconds write_timeout_;
  std::array<char, 4096> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  size_t left_ = 0;
  bool exhausted_ = false;
  bool broken_ = false;  // the TLS session failed: no close_notify
};

// Set by bounded_server while it serves a connection; see current_peer().
thread_local const http_peer* this_peer = nullptr;

// httplib's server with its connection loop over a connection_stream: the TLS handshake, if any,
// then the requests of one keep-alive connection, each bounded, until one breaks the connection
// or runs over its budget.
class bounded_server final : public httplib::Server {
 public:
  explicit bounded_server(http_transport t)
      : transport_(std::move(t)), refusals_(log::get("http")) {
    new_task_queue = [threads = transport_.threads] { return new httplib::ThreadPool(threads); };
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    using std::chrono::seconds;
    // httplib writes an answer's headers and body in two sends: with Nagle's algorithm the
    // body waited for the client's delayed ACK, 40 ms per request.
    int on = 1;
    static_cast<void>(
        ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)));  // ignored: only slower
    auto stopping = [this] { return svr_sock_ == INVALID_SOCKET; };
    bool ok = false;
    if (auto strm = open_stream(sock)) {
      http_peer peer{peer_of(*strm), std::nullopt};
      if (secured(*strm, peer, stopping)) {
        this_peer = &peer;
        for (auto left = keep_alive_max_count_;
             left > 0 && strm->await_request(seconds{keep_alive_timeout_sec_}, stopping); --left) {
          strm->start_request(transport_.request_budget);
          bool closed = false;
          ok = process_request(*strm, left == 1, closed, nullptr);
          if (!ok || closed || strm->exhausted()) break;
        }
        this_peer = nullptr;
      }
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }

  // The connection's stream: plain, or over a TLS session on a non-blocking socket.
  std::unique_ptr<connection_stream> open_stream(socket_t sock) {
    using std::chrono::seconds;
    std::unique_ptr<tls_session> session;
    if (transport_.tls) {
      int flags = ::fcntl(sock, F_GETFL);
      if (flags < 0 || ::fcntl(sock, F_SETFL, flags | O_NONBLOCK) != 0) {
        log::get("http")->error("HttpConnectionFailed err=\"{}\"", std::strerror(errno));
        return nullptr;
      }
      auto opened = tls_session::open(transport_.tls, sock);
      if (!opened) {
        log::get("http")->error("HttpConnectionFailed err=\"{}\"", message_of(opened.error()));
        return nullptr;
      }
      session = std::move(*opened);
    }
    return std::make_unique<connection_stream>(sock, std::move(session), seconds{read_timeout_sec_},
                                               seconds{write_timeout_sec_});
  }

  // Runs the TLS handshake, if any, and learns the client certificate; false when the
  // connection is to be closed. A refused handshake is audited, as on the other listeners; one
  // that stalls is only logged, as a client listener's connection that sends no hello.
  template <class Stopping>
  bool secured(connection_stream& strm, http_peer& peer, Stopping stopping) {
    if (!transport_.tls) return true;
    switch (strm.handshake(stopping)) {
      case handshake_end::done:
        peer.certified = strm.certified();
        return true;
      case handshake_end::refused:
        refused(peer.address, strm.failure());
        return false;
      case handshake_end::stalled:
        warn("ConnectionClosed door=http peer={} reason=\"no TLS handshake within {} s\"",
             peer.address, read_timeout_sec_);
        return false;
      case handshake_end::stopping:
        break;
    }
    return false;
  }

  void refused(const std::string& peer, const std::string& why) {
    warn("ConnectionRefused door=http peer={} reason=\"{}\"", peer, why);
    if (transport_.audit)
      transport_.audit->record("connection_refused",
                               {{"door", "http"}, {"peer", peer}, {"reason", why}});
  }

  // A connection warning, rate-limited across the endpoint's threads.
  template <class... Ts>
  void warn(const char* fmt, const Ts&... xs) {
    std::lock_guard<std::mutex> guard{refusals_mutex_};
    refusals_.warn(fmt, xs...);
  }

  static std::string peer_of(const connection_stream& strm) {
    std::string ip;
    int port = 0;
    strm.get_remote_ip_and_port(ip, port);
    return ip + ":" + std::to_string(port);
  }

  http_transport transport_;
  std::mutex refusals_mutex_;
  kv::log::connection_log refusals_;  // guarded by refusals_mutex_
};

}  // namespace

const http_peer* current_peer() {
  return this_peer;
}

std::unique_ptr<httplib::Server> make_http_server(http_transport t) {
  return std::make_unique<bounded_server>(std::move(t));
}

}  // namespace kv::actors
