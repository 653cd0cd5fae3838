#include "client/bench/redis_call.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace kv::bench {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// SO_SNDTIMEO bounds connect() on Linux.
int dial(const endpoint& ep, std::string& err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto port = std::to_string(ep.port);
  if (int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    err = "cannot resolve " + ep.host + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (auto* ai = found; ai && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    timeval limit{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = "cannot connect to " + ep.text() + ": " + std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd >= 0) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

std::optional<resp::value> call(const endpoint& ep, std::initializer_list<std::string_view> cmd,
                                std::string& err) {
  int fd = dial(ep, err);
  if (fd < 0) return std::nullopt;
  std::string out;
  resp::encode(out, cmd);
  std::optional<resp::value> result;
  if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
    err = "cannot send to " + ep.text() + ": " + std::strerror(errno);
    ::close(fd);
    return result;
  }
  auto deadline = steady::now() + 3s;
  std::string in;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    pollfd pfd{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      err = "no reply from " + ep.text() + " within 3 s";
      break;
    }
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      err = ep.text() + " closed the connection";
      break;
    }
    in.append(buf, static_cast<size_t>(n));
    resp::value v;
    auto r = resp::parse(in, v);
    if (r.state == resp::status::incomplete) continue;
    if (r.state == resp::status::malformed)
      err = ep.text() + " does not speak RESP";
    else
      result = std::move(v);
    break;
  }
  ::close(fd);
  return result;
}

}  // namespace kv::bench
