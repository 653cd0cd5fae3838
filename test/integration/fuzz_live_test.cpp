// Mutated frames against a running node (issue 13, requirement 7). A relay records what a real
// kvctl sends a node's port (a BASP handshake, then its calls); the test then opens a few
// thousand connections of its own and sends that conversation with one frame mutated each time
// (its payload, its header, or the bytes anywhere), and checks that the node is still running,
// that its memory stayed bounded, that no message wrote lines to its log past the port's
// budget, and that it still serves a put and a get.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>
#include <thread>

#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"
#include "caf/io/basp/header.hpp"
#include "test/fuzz/fuzz.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::test::node;
using kv::test::run_kvctl;
namespace basp = caf::io::basp;
using steady = std::chrono::steady_clock;

int listen_loopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  port = ntohs(addr.sin_port);
  return fd;
}

int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Forwards one connection from its own port to `to_port` and keeps what the client sent. The
// relay ends when either side closes or after 15 s.
class recording_relay {
 public:
  explicit recording_relay(uint16_t to_port) : listener_(listen_loopback(port_)) {
    thread_ = std::thread([this, to_port] { relay(to_port); });
  }
  ~recording_relay() {
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }
  std::string client_bytes() {
    if (thread_.joinable()) thread_.join();
    return sent_;
  }

 private:
  void relay(uint16_t to_port) {
    pollfd accept_poll{listener_, POLLIN, 0};
    if (::poll(&accept_poll, 1, 15000) != 1) return;
    int client = ::accept(listener_, nullptr, nullptr);
    int server = connect_loopback(to_port);
    auto deadline = steady::now() + 15s;
    char buf[65536];
    while (client >= 0 && server >= 0 && steady::now() < deadline) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(fds, 2, 100) <= 0) continue;
      bool open = true;
      for (int i = 0; i < 2 && open; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0)
          open = false;
        else if (::write(fds[1 - i].fd, buf, n) != n)
          open = false;
        else if (i == 0)
          sent_.append(buf, n);
      }
      if (!open) break;
    }
    if (client >= 0) ::close(client);
    if (server >= 0) ::close(server);
  }

  uint16_t port_ = 0;
  int listener_;
  std::string sent_;
  std::thread thread_;
};

struct frame {
  basp::header hdr;
  std::string payload;
};

std::string header_bytes(const basp::header& hdr) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  static_cast<void>(sink(hdr));  // ignored: a header always serializes
  return {buf.begin(), buf.end()};
}

// The frames of a recorded conversation (BASP: a header, then the payload it announces).
std::vector<frame> frames_of(const std::string& bytes) {
  std::vector<frame> out;
  for (size_t at = 0; at + basp::header_size <= bytes.size();) {
    frame f;
    caf::binary_deserializer source{nullptr, bytes.data() + at, basp::header_size};
    REQUIRE_FALSE(source(f.hdr));
    at += basp::header_size;
    REQUIRE(at + f.hdr.payload_len <= bytes.size());
    f.payload = bytes.substr(at, f.hdr.payload_len);
    at += f.hdr.payload_len;
    out.push_back(std::move(f));
  }
  return out;
}

// The conversation with one thing changed, chosen by `choose`: a frame's payload (its header
// announcing the new length), a frame's header, or the bytes of the whole conversation.
std::string mutated(const std::vector<frame>& frames, const std::vector<std::string>& payloads,
                    const std::string& whole, kv::fuzz::chooser& choose) {
  auto how = choose.below(4);
  if (how == 0) {
    auto out = whole;
    kv::fuzz::mutate(out, {whole}, choose);
    return out;
  }
  // The handshake stays intact: the mutation then reaches what BASP delivers to actors.
  auto victim = 1 + choose.below(frames.size() - 1);
  std::string out;
  for (size_t i = 0; i < frames.size(); ++i) {
    auto hdr = frames[i].hdr;
    auto payload = frames[i].payload;
    auto head = header_bytes(hdr);
    if (i == victim && how == 1) {
      kv::fuzz::mutate(head, {}, choose);
    } else if (i == victim) {
      kv::fuzz::mutate(payload, payloads, choose);
      hdr.payload_len = static_cast<uint32_t>(payload.size());
      head = header_bytes(hdr);
    }
    out += head + payload;
  }
  return out;
}

// Sends `bytes` on a new connection and closes it; reads whatever the node answers meanwhile.
void send_once(uint16_t port, const std::string& bytes) {
  int fd = connect_loopback(port);
  if (fd < 0) return;
  size_t at = 0;
  while (at < bytes.size()) {
    auto n = ::send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n <= 0) break;
    at += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  pollfd p{fd, POLLIN, 0};
  char buf[4096];
  while (::poll(&p, 1, 5) == 1 && ::read(fd, buf, sizeof buf) > 0) {
  }
  ::close(fd);
}

// The value of metric `name` in the node's GET /metrics on `port`, or -1.
double metric(uint16_t port, const std::string& name) {
  int fd = connect_loopback(port);
  if (fd < 0) return -1;
  std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  static_cast<void>(::send(fd, req.data(), req.size(), MSG_NOSIGNAL));  // ignored: read says
  std::string reply;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  for (ssize_t n; ::poll(&p, 1, 3000) == 1 && (n = ::read(fd, buf, sizeof buf)) > 0;)
    reply.append(buf, n);
  ::close(fd);
  auto at = reply.find("\n" + name + " ");
  return at == reply.npos ? -1 : std::stod(reply.substr(at + name.size() + 2));
}

// VmRSS of `pid` in KiB, 0 if unreadable.
uint64_t rss_kib(pid_t pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

}  // namespace

TEST_CASE("a node hit by thousands of mutated frames stays up, bounded and serving",
          "[integration][fuzz]") {
  kv::test::temp_dir dir;
  auto http_port = kv::test::free_port();
  node n{dir.str(), {"--http", "127.0.0.1:" + std::to_string(http_port)}};
  auto pid = n.proc().pid();
  recording_relay relay{n.port()};
  auto put = run_kvctl({"--node", "127.0.0.1:" + std::to_string(relay.port()), "--timeout", "3000",
                        "put", "fuzz:k", "v1", "--ns", "default"});
  REQUIRE(put.exit_code == 0);
  auto recorded = relay.client_bytes();
  auto frames = frames_of(recorded);
  REQUIRE(frames.size() >= 2);  // the handshake and at least one call
  std::vector<std::string> payloads;
  for (auto& f : frames) payloads.push_back(f.payload);

  auto opts = kv::fuzz::options_for("live", 13601, 5000);
  auto rss_before = rss_kib(pid);
  uint64_t rss_peak = rss_before;
  auto deadline = steady::now() + 20s;
  size_t sent = 0;
  for (size_t i = 0; i < opts.iterations && steady::now() < deadline; ++i, ++sent) {
    auto choose = kv::fuzz::chooser_for(opts.seed, i);
    auto input = mutated(frames, payloads, recorded, choose);
    if (const char* dump = std::getenv("KV_FUZZ_LIVE_DUMP"))
      std::ofstream{std::string{dump} + "/" + std::to_string(i), std::ios::binary} << input;
    send_once(n.port(), input);
    if (i % 50 == 0) {
      if (!n.proc().running()) {
        auto log = n.log();
        FAIL("the node ended (status "
             << n.proc().wait_exit(1000ms).value_or(-1) << ") by input " << i
             << "; its log ends: " << log.substr(log.size() - std::min<size_t>(log.size(), 1500)));
      }
      rss_peak = std::max(rss_peak, rss_kib(pid));
    }
  }
  // The put again, its namespace no longer UTF-8 (same length, so no length changes): protobuf
  // refuses the message and used to write a line to the node's stderr for each.
  auto not_utf8 = recorded;
  for (auto at = not_utf8.find("default"); at != not_utf8.npos; at = not_utf8.find("default", at))
    not_utf8[at + 6] = '\xff';
  for (int i = 0; i < 200; ++i) send_once(n.port(), not_utf8);
  std::this_thread::sleep_for(500ms);
  auto rss_after = rss_kib(pid);
  rss_peak = std::max(rss_peak, rss_after);
  std::cout << "live fuzz: " << sent << " conversations of " << frames.size()
            << " frames, one mutated in each; VmRSS " << rss_before / 1024 << " MiB before, "
            << rss_peak / 1024 << " MiB at most, " << rss_after / 1024 << " MiB after" << std::endl;
  auto log = n.log();
  auto count = [&](std::string_view what) {
    size_t k = 0;
    for (auto at = log.find(what); at != log.npos; at = log.find(what, at + 1)) ++k;
    return k;
  };
  std::cout << "live fuzz: node log " << log.size() << " bytes, " << count("ConnectionRejected")
            << " ConnectionRejected, " << count("ConnectionLost") << " ConnectionLost, "
            << count("libprotobuf") << " protobuf lines" << std::endl;
  auto refused = metric(http_port, "ringkv_messages_refused_total");
  auto rejected = metric(http_port, "ringkv_connections_rejected_total");
  std::cout << "live fuzz: " << refused << " messages refused by their deserializer, " << rejected
            << " connections closed by the port guard" << std::endl;
  CHECK(refused >= 200);  // mutations reached the messages, not only the frame guard
  CHECK(count("libprotobuf") == 0);
  CHECK(sent >= 1000);
  REQUIRE(n.proc().running());
  CHECK(rss_peak - rss_before < (uint64_t{1} << 20));  // < 1 GiB of growth
  auto again = run_kvctl({"--node", n.address(), "--timeout", "3000", "put", "fuzz:after", "v2"});
  CHECK(again.exit_code == 0);
  auto got = run_kvctl({"--node", n.address(), "--timeout", "3000", "get", "fuzz:after", "--raw"});
  CHECK(got.exit_code == 0);
  CHECK(got.out == "v2");
}
