// The first bytes every listener with TLS reads from a stranger: a TLS handshake, through a
// server-side tls_session (actors/net/tls.hpp). Seeds are a real client's first flight (with and
// without a certificate to offer) and plain bytes; mutated, they must end the session failed
// or closed, with a reason when it failed, and never with a verified peer: no certificate can
// be verified without the handshake that proves its key.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "actors/net/tls.hpp"
#include "test/fuzz/fuzz.hpp"
#include "test/support/temp_dir.hpp"

namespace kv::actors {
namespace {

struct pair_of_sockets {
  pair_of_sockets() {
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) FAIL("socketpair");
    for (int fd : fds) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  ~pair_of_sockets() {
    for (int fd : fds) ::close(fd);
  }
  int fds[2] = {-1, -1};
};

// What a client session sends first: its ClientHello.
std::string first_flight(const std::shared_ptr<tls_context>& client) {
  pair_of_sockets p;
  auto session = tls_session::open(client, p.fds[0], "127.0.0.1");
  REQUIRE(session);
  std::string out(16384, '\0');
  auto n = ::read(p.fds[1], out.data(), out.size());
  REQUIRE(n > 0);
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("fuzz: a TLS handshake from a stranger fails or closes, never verifies a peer",
          "[fuzz][tls_handshake]") {
  kv::test::temp_dir dir;
  auto certs = dir.str() + "/certs";
  auto cmd = std::string{"bash "} + KV_SOURCE_DIR + "/scripts/certs.sh " + certs +
             " --nodes n1 --clients app > /dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto file = [&](const std::string& name) { return certs + "/" + name; };
  auto server = tls_context::load({file("n1.pem"), file("n1.key"), file("ca.pem")},
                                  tls_side::server, cert_kind::client, true);
  REQUIRE(server);
  auto with_cert = tls_context::load({file("app.pem"), file("app.key"), file("ca.pem")},
                                     tls_side::client, cert_kind::node);
  auto without_cert =
      tls_context::load({"", "", file("ca.pem")}, tls_side::client, cert_kind::node);
  REQUIRE(with_cert);
  REQUIRE(without_cert);
  std::vector<std::string> seeds{first_flight(*with_cert), first_flight(*without_cert),
                                 "GET / HTTP/1.0\r\n\r\n", std::string(5, '\x16')};
  fuzz::run("tls_handshake", 13703, 100000, seeds, [&](std::string_view in) {
    pair_of_sockets p;
    auto session = tls_session::open(*server, p.fds[0]);
    FUZZ_CHECK(session);
    size_t at = 0;
    while (at < in.size()) {
      auto n = ::write(p.fds[1], in.data() + at, in.size() - at);
      if (n <= 0) break;  // the socket buffer is full: the rest is never sent
      at += static_cast<size_t>(n);
    }
    ::shutdown(p.fds[1], SHUT_WR);
    char buf[4096];
    tls_io last = tls_io::done;
    for (int round = 0; round < 64 && (last == tls_io::done || last == tls_io::again); ++round) {
      size_t n = 0;
      last = (*session)->read(buf, sizeof buf, n);
      FUZZ_CHECK(n == 0);  // nothing decrypts before a handshake
    }
    FUZZ_CHECK(last == tls_io::failed || last == tls_io::closed || last == tls_io::again);
    if (last == tls_io::failed) FUZZ_CHECK(!(*session)->failure().empty());
    FUZZ_CHECK(!(*session)->peer());
    if (last != tls_io::again) fuzz::accepted();
  });
}

}  // namespace kv::actors
