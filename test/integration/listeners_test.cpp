// One door per kind of caller: each of a node's three listeners refuses what is not its own
// callers', counts it in /metrics, and the node goes on serving. The client listener speaks the
// client protocol (docs/protocol.md) and nothing else; the peer listener takes only other
// nodes' BASP, without exits, downs, links or routed messages; the admin listener alone serves
// the operator verbs.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include "actors/interfaces.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "client/client.hpp"
#include "messages/framing.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::test::metric;
using kv::test::node;
using kv::test::run_kvctl;

// A put and a get of a fresh key.
bool serves(const node& n) {
  static int round = 0;
  auto key = "serves:" + std::to_string(++round);
  auto put = run_kvctl({"--node", n.address(), "--timeout", "3000", "put", key, "v"});
  auto get = run_kvctl({"--node", n.address(), "--timeout", "3000", "get", key, "--raw"});
  return put.exit_code == 0 && get.exit_code == 0 && get.out == "v";
}

// Sends `bytes` on a new connection and returns what the node answered until it closed the
// connection (or 5 s passed; then `closed` is false).
std::string exchange(uint16_t port, const std::string& bytes, bool& closed) {
  closed = false;
  int fd = kv::test::connect_loopback(port);
  REQUIRE(fd >= 0);
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
  std::string answer;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline && ::poll(&p, 1, 100) >= 0) {
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      closed = true;
      break;
    }
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen{seed};
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(gen());
  return out;
}

// The node frames in `bytes`, as far as they are whole.
std::vector<kv::msg::NodeFrame> node_frames(const std::string& bytes) {
  kv::protocol::frame_reader reader{64u << 20};
  reader.feed(bytes);
  std::vector<kv::msg::NodeFrame> frames;
  for (auto next = reader.next(); next && *next; next = reader.next())
    if (auto frame = kv::protocol::decode_node_frame(**next)) frames.push_back(*frame);
  return frames;
}

std::string client_hello() {
  kv::msg::ClientFrame hello;
  hello.mutable_hello()->set_version(kv::protocol::version);
  hello.mutable_hello()->set_client("listeners_test");
  std::string out;
  kv::protocol::append_frame(out, hello);
  return out;
}

struct peer {
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    kv::client::configure(cfg);
    return cfg;
  }
  peer() : sys(init(cfg)) {}
  caf::actor_system_config cfg;
  caf::actor_system sys;
};

const std::string client_closed = "ringkv_connections_rejected_total{listener=\"client\"}";
const std::string peer_closed = "ringkv_connections_rejected_total{listener=\"peer\"}";

}  // namespace

TEST_CASE("the client listener closes a BASP handshake and random bytes, and serves on",
          "[integration][listeners]") {
  kv::test::temp_dir dir;
  auto http = kv::test::free_port();
  node n{dir.str(), {"--http", "127.0.0.1:" + std::to_string(http)}};

  peer p;  // CAF's own handshake, as a peer or an old client would send it
  auto remote = p.sys.middleman().remote_actor<kv::actors::node_actor>("127.0.0.1", n.port());
  CHECK_FALSE(remote);

  bool closed = false;
  auto answer = exchange(n.port(), random_bytes(4096, 7), closed);
  CHECK(closed);
  auto frames = node_frames(answer);
  REQUIRE(frames.size() == 1);  // a goodbye saying why
  CHECK(frames[0].has_goodbye());

  // A request before the hello: goodbye too.
  kv::msg::ClientFrame early;
  early.mutable_request()->set_id(1);
  early.mutable_request()->mutable_ping();
  std::string bytes;
  kv::protocol::append_frame(bytes, early);
  frames = node_frames(exchange(n.port(), bytes, closed));
  CHECK(closed);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].goodbye().message() == "the first frame must be a hello");

  CHECK(metric(http, client_closed) >= 3);
  CHECK(serves(n));
  CHECK(n.proc().running());
}

TEST_CASE("the client listener answers a hello, pipelined requests and a ping",
          "[integration][listeners]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  REQUIRE(run_kvctl({"--node", n.address(), "put", "k", "v"}).exit_code == 0);
  auto bytes = client_hello();
  for (uint64_t id : {7, 8, 9}) {
    kv::msg::ClientFrame f;
    f.mutable_request()->set_id(id);
    if (id == 7) f.mutable_request()->mutable_ping();
    if (id == 8) f.mutable_request()->mutable_get()->set_key("k");
    if (id == 9) f.mutable_request()->mutable_status();
    kv::protocol::append_frame(bytes, f);
  }
  int fd = kv::test::connect_loopback(n.port());
  REQUIRE(fd >= 0);
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
  std::string answer;
  char buf[4096];
  pollfd pfd{fd, POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (node_frames(answer).size() < 4 && std::chrono::steady_clock::now() < deadline &&
         ::poll(&pfd, 1, 100) >= 0) {
    if ((pfd.revents & POLLIN) == 0) continue;
    auto k = ::read(fd, buf, sizeof buf);
    if (k <= 0) break;
    answer.append(buf, static_cast<size_t>(k));
  }
  ::close(fd);
  auto frames = node_frames(answer);
  REQUIRE(frames.size() == 4);
  REQUIRE(frames[0].has_hello());
  CHECK(frames[0].hello().version() == kv::protocol::version);
  CHECK(frames[0].hello().node_id() == "n1");
  CHECK(frames[0].hello().max_frame_bytes() == 4u << 20);
  std::map<uint64_t, kv::msg::Response> by_id;
  for (size_t i = 1; i < frames.size(); ++i)
    by_id[frames[i].response().id()] = frames[i].response();
  CHECK(by_id[7].has_pong());
  REQUIRE(by_id[8].has_get());
  REQUIRE(by_id[8].get().siblings_size() == 1);
  CHECK(by_id[8].get().siblings(0).value() == "v");
  CHECK(by_id[9].status().node_id() == "n1");
  CHECK(by_id[9].status().address() == n.address());
  CHECK(by_id[9].status().peer_address() == n.peer_address());
}

TEST_CASE(
    "an operator verb on the client listener, or a put on the admin listener, is refused "
    "and counted",
    "[integration][listeners]") {
  kv::test::temp_dir dir;
  auto http = kv::test::free_port();
  node n{dir.str(), {"--http", "127.0.0.1:" + std::to_string(http)}};

  auto verb = run_kvctl({"--node", n.address(), "--admin", n.address(), "hints"});
  CHECK(verb.exit_code == 2);
  CHECK(verb.err.rfind("INVALID_ARGUMENT hints is not served on the client listener", 0) == 0);
  auto put = run_kvctl({"--node", n.admin_address(), "put", "k", "v"});
  CHECK(put.exit_code == 2);
  CHECK(put.err.rfind("INVALID_ARGUMENT put is not served on the admin listener", 0) == 0);

  CHECK(metric(http, "ringkv_listener_refused_total{listener=\"client\"}") == 1);
  CHECK(metric(http, "ringkv_listener_refused_total{listener=\"admin\"}") == 1);
  // Where they belong, both work.
  CHECK(run_kvctl({"--node", n.address(), "put", "k", "v"}).exit_code == 0);
  CHECK(run_kvctl({"--node", n.address(), "--admin", n.admin_address(), "hints"}).exit_code == 0);
  CHECK(serves(n));
}

TEST_CASE("the peer listener closes client frames and random bytes, and serves on",
          "[integration][listeners]") {
  kv::test::temp_dir dir;
  auto http = kv::test::free_port();
  node n{dir.str(), {"--http", "127.0.0.1:" + std::to_string(http)}};
  auto peer_port = static_cast<uint16_t>(n.port() + kv::test::node_port_offset_peer);

  bool closed = false;
  auto answer = exchange(peer_port, client_hello() + std::string(64, '\0'), closed);
  CHECK(closed);
  CHECK(node_frames(answer).empty());  // no client protocol there
  exchange(peer_port, random_bytes(4096, 11), closed);
  CHECK(closed);
  CHECK(metric(http, peer_closed) >= 2);

  // kvctl pointed at the peer listener says what it found.
  auto wrong = run_kvctl({"--node", n.peer_address(), "--timeout", "3000", "get", "k"});
  CHECK(wrong.exit_code == 3);
  CHECK(wrong.err.find("not a ringkv client listener") != std::string::npos);
  CHECK(serves(n));
}

TEST_CASE("exit, down and link messages on the peer listener are dropped, and the node serves on",
          "[integration][listeners]") {
  kv::test::temp_dir dir;
  auto http = kv::test::free_port();
  node n{dir.str(), {"--http", "127.0.0.1:" + std::to_string(http)}};
  auto peer_port = static_cast<uint16_t>(n.port() + kv::test::node_port_offset_peer);
  REQUIRE(serves(n));

  // kill is the exit CAF always honours: the front used to die of it, and kvnode with it.
  {
    peer p;
    auto front = p.sys.middleman().remote_actor<kv::actors::node_actor>("127.0.0.1", peer_port);
    REQUIRE(front);
    caf::anon_send_exit(*front, caf::exit_reason::kill);
    CHECK(n.wait_for_log("an exit message from a peer (dropped", 5000ms));
  }
  {
    peer p;
    auto front = p.sys.middleman().remote_actor<kv::actors::node_actor>("127.0.0.1", peer_port);
    REQUIRE(front);
    caf::anon_send(caf::actor_cast<caf::actor>(*front),
                   caf::down_msg{caf::actor_addr{}, caf::exit_reason::kill});
    CHECK(n.wait_for_log("a down message from a peer (dropped", 5000ms));
  }
  {
    peer p;
    auto front = p.sys.middleman().remote_actor<kv::actors::node_actor>("127.0.0.1", peer_port);
    REQUIRE(front);
    caf::scoped_actor self{p.sys};
    self->link_to(*front);  // CAF sends a link to a remote actor as a routed message
    CHECK(n.wait_for_log("a routed message (ringkv's nodes talk directly)", 5000ms));
  }
  std::this_thread::sleep_for(300ms);
  CHECK(n.proc().running());
  CHECK(n.log().find("PortFrontDied") == std::string::npos);
  CHECK(metric(http, peer_closed) >= 3);
  CHECK(serves(n));
}
