// test/support/mute_listener.hpp
// A loopback listener that never speaks: a seed, server or peer that does not answer.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace kv::test {

// A loopback socket that listens and never speaks. The kernel completes TCP handshakes into
// its backlog, so a client's connect succeeds, and then nothing ever comes back. With
// `accepting`, a thread also accepts the connections and holds them open, silent.
class mute_listener {
 public:
  // With `hang_up`, accepted connections are closed at once instead of held.
  explicit mute_listener(bool accepting, bool hang_up = false) : hang_up_(hang_up) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (accepting) acceptor_ = std::thread{[this] { accept_loop(); }};
  }
  ~mute_listener() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    for (int fd : accepted_) ::close(fd);
    ::close(fd_);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  size_t accepted() const { return accepted_count_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 20) <= 0) continue;
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn >= 0) {
        ++accepted_count_;
        if (hang_up_)
          ::close(conn);
        else
          accepted_.push_back(conn);
      }
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  bool hang_up_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> accepted_count_{0};
  std::vector<int> accepted_;  // touched by the acceptor thread only, until it is joined
  std::thread acceptor_;
};

}  // namespace kv::test
