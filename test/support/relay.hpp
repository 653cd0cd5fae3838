// test/support/relay.hpp
// A recording relay: it listens on a loopback port of its own, forwards the first connection it
// accepts to 127.0.0.1:<to_port> (both ways), and keeps the bytes the connecting side sent.
// Pointed at it, a real client (kvctl, or a test's own actor system acting as a CAF peer) leaves
// a genuine conversation that a test then replays, changed, on connections of its own
// (test/integration/wire_test.cpp, fuzz_live_test.cpp). Towards a node with TLS, the relay
// can speak TLS itself (tls_stream.hpp) while the connecting side talks plaintext to it: it then
// keeps the plaintext that the client would have sent inside its session. Header-only. The
// relay's thread ends once either side closes, or at its deadline; the destructor joins it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "actors/net/tls.hpp"
#include "test/support/process.hpp"
#include "test/support/tls_stream.hpp"

namespace kv::test {

class recording_relay {
 public:
  // Listens at once; relays one connection until either side closes or `limit` has passed.
  // With `upstream_tls`, the connection to `to_port` speaks TLS and presents that context's
  // certificate.
  explicit recording_relay(uint16_t to_port, milliseconds limit = milliseconds{15000},
                           std::shared_ptr<kv::actors::tls_context> upstream_tls = nullptr)
      : listener_(listen_loopback(port_)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    thread_ = std::thread([this, to_port, deadline, tls = std::move(upstream_tls)]() mutable {
      relay(to_port, deadline, std::move(tls));
    });
  }
  ~recording_relay() {
    wait();
    ::close(listener_);
  }
  recording_relay(const recording_relay&) = delete;
  recording_relay& operator=(const recording_relay&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // What the connecting side sent; waits for the relay to end first.
  const std::string& client_bytes() {
    wait();
    return sent_;
  }

 private:
  static int listen_loopback(uint16_t& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd, 4) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("recording_relay: cannot listen on a loopback port");
    }
    port = ntohs(addr.sin_port);
    return fd;
  }

  void wait() {
    if (thread_.joinable()) thread_.join();
  }

  static int left_ms(std::chrono::steady_clock::time_point deadline) {
    auto left = deadline - std::chrono::steady_clock::now();
    return static_cast<int>(std::chrono::duration_cast<milliseconds>(left).count());
  }

  // Runs in the relay's thread; `sent_` is read only after it ends.
  void relay(uint16_t to_port, std::chrono::steady_clock::time_point deadline,
             std::shared_ptr<kv::actors::tls_context> tls) {
    pollfd accept_poll{listener_, POLLIN, 0};
    if (::poll(&accept_poll, 1, std::max(left_ms(deadline), 0)) != 1) return;
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    if (tls)
      relay_tls(client, to_port, deadline, std::move(tls));
    else
      relay_plain(client, to_port, deadline);
    ::close(client);
  }

  void relay_plain(int client, uint16_t to_port, std::chrono::steady_clock::time_point deadline) {
    int server = connect_loopback(to_port);
    char buf[65536];
    for (bool open = server >= 0; open && left_ms(deadline) > 0;) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(fds, 2, 100) <= 0) continue;
      for (int i = 0; i < 2 && open; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        auto n = ::read(fds[i].fd, buf, sizeof buf);
        open = n > 0 && ::send(fds[1 - i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) == n;
        if (open && i == 0) sent_.append(buf, static_cast<size_t>(n));
      }
    }
    if (server >= 0) ::close(server);
  }

  // The same with a TLS session towards the node. The session may hold plaintext the socket no
  // longer shows (tls_stream::buffered), so the node's side is read on every round.
  void relay_tls(int client, uint16_t to_port, std::chrono::steady_clock::time_point deadline,
                 std::shared_ptr<kv::actors::tls_context> tls) {
    tls_stream server{std::move(tls), to_port, deadline};
    char buf[65536];
    for (bool open = server.ok(); open && left_ms(deadline) > 0;) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server.fd(), POLLIN, 0}};
      if (!server.buffered() && ::poll(fds, 2, 100) <= 0) continue;
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        auto n = ::read(client, buf, sizeof buf);
        open = n > 0 && server.write_all({buf, static_cast<size_t>(n)}, deadline);
        if (open) sent_.append(buf, static_cast<size_t>(n));
      }
      for (long n; open && (n = server.read_some(buf, sizeof buf)) != 0;)
        open = n > 0 && ::send(client, buf, static_cast<size_t>(n), MSG_NOSIGNAL) == n;
    }
  }

  uint16_t port_ = 0;
  int listener_;
  std::string sent_;
  std::thread thread_;
};

}  // namespace kv::test
