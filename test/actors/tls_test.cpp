// TLS sessions (actors/net/tls.hpp) over a socket pair, with certificates from scripts/certs.sh:
// the handshake names the other side, each side refuses what it must (another CA, the wrong
// kind, no certificate), bytes travel both ways, and a peer gone mid-write is an error, not a
// SIGPIPE that ends the process.
#include "actors/net/tls.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>

#include "messages/errc.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv::actors;

namespace {

// The certificates of one CA, and of another (made once for every test of this file).
struct certificates {
  certificates() {
    auto make = [&](const std::string& at, const std::string& args) {
      auto cmd = std::string{"bash "} + KV_SOURCE_DIR + "/scripts/certs.sh " + at + " " + args +
                 " > /dev/null 2>&1";
      REQUIRE(std::system(cmd.c_str()) == 0);
    };
    make(dir.str() + "/ours", "--nodes n1,n2 --clients app");
    make(dir.str() + "/theirs", "--nodes n1 --clients app");
  }
  tls_files files(const std::string& ca_of, const std::string& name,
                  const std::string& cert_of = "ours") const {
    auto base = dir.str() + "/" + cert_of + "/";
    return {base + name + ".pem", base + name + ".key", dir.str() + "/" + ca_of + "/ca.pem"};
  }
  kv::test::temp_dir dir;
};

const certificates& certs() {
  static certificates instance;
  return instance;
}

// Two ends of a non-blocking socket pair, closed at the end.
struct socket_pair {
  socket_pair() {
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    for (int fd : fds) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  ~socket_pair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  int fds[2] = {-1, -1};
};

std::unique_ptr<tls_session> open(const tls_files& files, tls_side side, cert_kind accepts, int fd,
                                  bool optional = false) {
  auto ctx = tls_context::load(files, side, accepts, optional);
  REQUIRE(ctx);
  auto session = tls_session::open(*ctx, fd);
  REQUIRE(session);
  return std::move(*session);
}

// Drives both handshakes until both are done or one fails; the outcome of the last step of each.
std::pair<tls_io, tls_io> handshake(tls_session& server, tls_session& client) {
  tls_io s = tls_io::again, c = tls_io::again;
  size_t none = 0;
  for (int round = 0; round < 20; ++round) {
    c = client.read(nullptr, 0, none);
    s = server.read(nullptr, 0, none);
    if (s == tls_io::failed || c == tls_io::failed) break;
    if (server.handshaken() && client.handshaken()) break;
  }
  if (c != tls_io::failed)
    c = client.read(nullptr, 0, none);  // the client learns of a refusal from the server's alert
  return {s, c};
}

}  // namespace

TEST_CASE("a TLS handshake names the other side, and bytes travel both ways", "[tls]") {
  socket_pair p;
  auto server = open(certs().files("ours", "n1"), tls_side::server, cert_kind::node, p.fds[0]);
  auto client = open(certs().files("ours", "n2"), tls_side::client, cert_kind::node, p.fds[1]);
  auto [s, c] = handshake(*server, *client);
  REQUIRE(s != tls_io::failed);
  REQUIRE(c != tls_io::failed);
  REQUIRE(server->handshaken());
  REQUIRE(server->peer());
  CHECK(server->peer()->name == "n2");
  CHECK(server->peer()->kind == cert_kind::node);
  REQUIRE(client->peer());
  CHECK(client->peer()->name == "n1");

  std::string sent(100000, 'x');
  sent[777] = 'y';
  size_t written = 0, got = 0;
  std::string received(sent.size(), '\0');
  for (int i = 0; i < 1000 && got < sent.size(); ++i) {
    size_t n = 0;
    if (written < sent.size() &&
        client->write(sent.data() + written, sent.size() - written, n) == tls_io::done)
      written += n;
    // Read in small pieces: the rest of a record waits inside the session.
    if (server->read(received.data() + got, std::min<size_t>(100, sent.size() - got), n) ==
        tls_io::done)
      got += n;
    while (server->pending() > 0 && got < sent.size()) {
      REQUIRE(server->read(received.data() + got, std::min<size_t>(100, sent.size() - got), n) ==
              tls_io::done);
      got += n;
    }
  }
  CHECK(received == sent);
}

TEST_CASE("each side refuses another CA, the wrong kind, and a missing certificate", "[tls]") {
  SECTION("a client certificate of another CA") {
    socket_pair p;
    auto server = open(certs().files("ours", "n1"), tls_side::server, cert_kind::client, p.fds[0]);
    auto client =
        open(certs().files("ours", "app", "theirs"), tls_side::client, cert_kind::node, p.fds[1]);
    auto [s, c] = handshake(*server, *client);
    CHECK(s == tls_io::failed);
    CHECK_THAT(server->failure(), Catch::Contains("unable to get local issuer certificate"));
    CHECK_FALSE(server->peer());
  }
  SECTION("a node certificate at a door for clients") {
    socket_pair p;
    auto server = open(certs().files("ours", "n1"), tls_side::server, cert_kind::client, p.fds[0]);
    auto client = open(certs().files("ours", "n2"), tls_side::client, cert_kind::node, p.fds[1]);
    auto [s, c] = handshake(*server, *client);
    CHECK(s == tls_io::failed);
    CHECK(server->failure() ==
          "certificate of the wrong kind: OU=node, this listener accepts OU=client");
  }
  SECTION("a server of another CA") {
    socket_pair p;
    auto server =
        open(certs().files("theirs", "n1", "theirs"), tls_side::server, cert_kind::node, p.fds[0]);
    auto client = open(certs().files("ours", "n2"), tls_side::client, cert_kind::node, p.fds[1]);
    auto [s, c] = handshake(*server, *client);
    CHECK(c == tls_io::failed);
    CHECK_THAT(client->failure(), Catch::Contains("certificate refused"));
  }
  SECTION("no client certificate: refused, unless the server lets clients use tokens") {
    for (bool optional : {false, true}) {
      socket_pair p;
      auto server = open(certs().files("ours", "n1"), tls_side::server, cert_kind::client, p.fds[0],
                         optional);
      tls_files ca_only{"", "", certs().files("ours", "n1").ca};
      auto client = open(ca_only, tls_side::client, cert_kind::node, p.fds[1]);
      auto [s, c] = handshake(*server, *client);
      INFO("optional " << optional);
      CHECK((s == tls_io::failed) == !optional);
      CHECK(server->handshaken() == optional);
      CHECK_FALSE(server->peer());
    }
  }
}

TEST_CASE("a context names what is missing or wrong in its files", "[tls]") {
  auto good = certs().files("ours", "n1");
  auto missing_ca = tls_context::load({good.cert, good.key, ""}, tls_side::server, cert_kind::node);
  REQUIRE_FALSE(missing_ca);
  CHECK_THAT(kv::message_of(missing_ca.error()), Catch::Contains("CA"));
  auto no_key = tls_context::load({good.cert, "", good.ca}, tls_side::client, cert_kind::node);
  REQUIRE_FALSE(no_key);
  CHECK_THAT(kv::message_of(no_key.error()), Catch::Contains("needs its key"));
  auto server_without_cert =
      tls_context::load({"", "", good.ca}, tls_side::server, cert_kind::node);
  CHECK_FALSE(server_without_cert);
  auto mismatched = tls_context::load({good.cert, certs().files("ours", "n2").key, good.ca},
                                      tls_side::server, cert_kind::node);
  REQUIRE_FALSE(mismatched);
  CHECK_THAT(kv::message_of(mismatched.error()), Catch::Contains("n2.key"));
  auto absent = tls_context::load({good.cert + ".nope", good.key, good.ca}, tls_side::server,
                                  cert_kind::node);
  REQUIRE_FALSE(absent);
  CHECK_THAT(kv::message_of(absent.error()), Catch::Contains(good.cert + ".nope"));
}

TEST_CASE("writing to a peer that is gone fails, and raises no SIGPIPE", "[tls]") {
  // With OpenSSL's own socket BIO this write raised SIGPIPE, and the process died of it.
  auto previous = std::signal(SIGPIPE, SIG_DFL);
  socket_pair p;
  auto server = open(certs().files("ours", "n1"), tls_side::server, cert_kind::node, p.fds[0]);
  auto client = open(certs().files("ours", "n2"), tls_side::client, cert_kind::node, p.fds[1]);
  static_cast<void>(handshake(*server, *client));  // ignored: checked through handshaken()
  REQUIRE(client->handshaken());
  server.reset();
  ::close(p.fds[0]);
  p.fds[0] = -1;
  std::string bytes(64 * 1024, 'z');
  tls_io last = tls_io::done;
  for (int i = 0; i < 100 && last == tls_io::done; ++i) {
    size_t n = 0;
    last = client->write(bytes.data(), bytes.size(), n);
  }
  CHECK((last == tls_io::closed || last == tls_io::failed));
  std::signal(SIGPIPE, previous);
}
