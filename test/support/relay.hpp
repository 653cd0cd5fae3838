// test/support/relay.hpp
// A recording relay: it listens on a loopback port of its own, forwards the first connection it
// accepts to 127.0.0.1:<to_port> (both ways), and keeps the bytes the connecting side sent.
// Pointed at it, a real client (kvctl, or a test's own actor system acting as a CAF peer) leaves
// a genuine conversation that a test then replays, changed, on connections of its own
// (test/integration/wire_test.cpp, fuzz_live_test.cpp). Header-only. The relay's thread ends
// once either side closes, or at its deadline; the destructor joins it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

#include "test/support/process.hpp"

namespace kv::test {

class recording_relay {
 public:
  // Listens at once; relays one connection until either side closes or `limit` has passed.
  explicit recording_relay(uint16_t to_port, milliseconds limit = milliseconds{15000})
      : listener_(listen_loopback(port_)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    thread_ = std::thread([this, to_port, deadline] { relay(to_port, deadline); });
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

  // Runs in the relay's thread; `sent_` is read only after it ends.
  void relay(uint16_t to_port, std::chrono::steady_clock::time_point deadline) {
    auto left_ms = [deadline] {
      auto left = deadline - std::chrono::steady_clock::now();
      return static_cast<int>(std::chrono::duration_cast<milliseconds>(left).count());
    };
    pollfd accept_poll{listener_, POLLIN, 0};
    if (::poll(&accept_poll, 1, std::max(left_ms(), 0)) != 1) return;
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    int server = client >= 0 ? connect_loopback(to_port) : -1;
    char buf[65536];
    for (bool open = client >= 0 && server >= 0; open && left_ms() > 0;) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(fds, 2, 100) <= 0) continue;
      for (int i = 0; i < 2 && open; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        auto n = ::read(fds[i].fd, buf, sizeof buf);
        open = n > 0 && ::send(fds[1 - i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) == n;
        if (open && i == 0) sent_.append(buf, static_cast<size_t>(n));
      }
    }
    if (client >= 0) ::close(client);
    if (server >= 0) ::close(server);
  }

  uint16_t port_ = 0;
  int listener_;
  std::string sent_;
  std::thread thread_;
};

}  // namespace kv::test
