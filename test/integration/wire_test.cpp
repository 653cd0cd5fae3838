// Bad input on a real kvnode's listeners, over plain sockets: each bad connection is closed with
// a logged reason, and the node keeps serving with its data intact.
//
// The peer listener (--peer-listen) speaks CAF's BASP behind the port guard
// (actors/net/guarded_port.hpp), which logs ConnectionRejected or ConnectionLost. A BASP header
// is 32 bytes, big-endian: u8 operation (1 = client handshake, 2 = direct message), u8 pad, u8
// pad, u8 flags, u32 payload_len, u64 operation_data, u64 source_actor, u64 dest_actor. The node
// sends its server handshake first; we never answer it properly, except where a test replays the
// handshake of a real CAF peer (the test's own actor system, recorded through a relay) to get
// past the guard's first-frame checks.
//
// The client listener (--listen) speaks the client protocol (docs/protocol.md): a 4-byte
// big-endian length, then a ClientFrame. It answers bad input with a goodbye saying why, closes
// the connection and logs ConnectionClosed door=client (ConnectionLost when the client hangs up
// in the middle of a frame). listeners_test.cpp checks the goodbyes to a BASP handshake, to
// random bytes and to a request before the hello; the cases here are about the logged reasons
// and the handshake and frame deadlines.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <optional>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "actors/node/config.hpp"
#include "client/blocking_client.hpp"
#include "messages/framing.hpp"
#include "test/support/peer_system.hpp"
#include "test/support/process.hpp"
#include "test/support/relay.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::test::node;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

// The node's deadlines for a handshake (or hello) and for a started frame: both 3 s.
const milliseconds handshake_timeout = kv::actors::node_config{}.handshake_timeout;
const milliseconds frame_timeout = kv::actors::node_config{}.frame_timeout;

uint16_t peer_port(const node& n) {
  return static_cast<uint16_t>(n.port() + kv::test::node_port_offset_peer);
}

std::string header(uint8_t operation, uint32_t payload_len, uint64_t operation_data,
                   uint64_t dest_actor) {
  std::string out;
  auto put = [&out](uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  put(operation, 1);
  put(0, 2);  // padding
  put(0, 1);  // flags
  put(payload_len, 4);
  put(operation_data, 8);
  put(0, 8);  // source actor
  put(dest_actor, 8);
  return out;
}

// A client-protocol length header announcing `length` bytes.
std::string length_header(uint32_t length) {
  return {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
          static_cast<char>(length >> 8), static_cast<char>(length)};
}

std::string client_frame(const kv::msg::ClientFrame& frame) {
  std::string out;
  kv::protocol::append_frame(out, frame);
  return out;
}

std::string hello(uint32_t version = kv::protocol::version) {
  kv::msg::ClientFrame frame;
  frame.mutable_hello()->set_version(version);
  frame.mutable_hello()->set_client("wire_test");
  return client_frame(frame);
}

std::string ping(uint64_t id) {
  kv::msg::ClientFrame frame;
  frame.mutable_request()->set_id(id);
  frame.mutable_request()->mutable_ping();
  return client_frame(frame);
}

std::string noise(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  for (size_t i = 0; i < n; ++i) out += static_cast<char>(rng() & 0xFF);
  return out;
}

// A connected socket to the node; closed by the destructor.
class connection {
 public:
  explicit connection(uint16_t port) : fd_(kv::test::connect_loopback(port)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    local_port_ = ntohs(addr.sin_port);
  }
  ~connection() { ::close(fd_); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // What the node logs as the peer, with the space after it (port 3488 must not match 34888).
  std::string peer() const { return "peer=127.0.0.1:" + std::to_string(local_port_) + " "; }

  void send(const std::string& bytes) {
    // MSG_NOSIGNAL: a node that already closed must not kill the test with SIGPIPE.
    auto sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    static_cast<void>(sent);  // ignored: a closed connection is what the test looks for
  }

  void hang_up_writing() { ::shutdown(fd_, SHUT_WR); }

  // True once the node has closed the connection (end of file or reset). Keeps what it read.
  bool closed_by_peer() {
    for (;;) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 0) <= 0) return false;
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0) return true;
      if (n < 0) return errno != EAGAIN && errno != EINTR;
      received_.append(buf, static_cast<size_t>(n));
    }
  }

  // Everything the node sent, as far as closed_by_peer read it.
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  uint16_t local_port_ = 0;
  std::string received_;
};

// How soon the node closes a bad connection: at once (well before any deadline), or once the
// handshake or frame deadline has passed (never before).
enum class closes { at_once, at_deadline };

struct bad_input {
  const char* what;
  std::string bytes;
  bool hang_up;        // shut down our sending side after the bytes
  const char* event;   // ConnectionRejected / ConnectionLost (peer), ConnectionClosed (client)
  const char* reason;  // part of the logged reason; on the client listener, of the goodbye's too
  closes when;
  kv::msg::ErrorCode code = kv::msg::ERR_INVALID_ARGUMENT;  // the client listener's goodbye
};

// Bad inputs for the peer listener. `handshake` is a real peer's client handshake, replayed to
// reach the guard's checks of the frames after it.
std::vector<bad_input> peer_bad_inputs(const std::string& handshake) {
  auto handshake_header = header(1, 100, 0, 0);
  auto direct = header(2, 10, 1, 1);  // a valid direct-message header, before any handshake
  auto message = header(2, 100, 1, 1);
  return {
      {"random bytes", noise(64, 20240611), false, "ConnectionRejected", "malformed frame header",
       closes::at_once},
      {"a truncated header", handshake_header.substr(0, 10), false, "ConnectionRejected",
       "no complete handshake", closes::at_deadline},
      {"a truncated header, then a hang-up", handshake_header.substr(0, 10), true, "ConnectionLost",
       "closed before completing a handshake", closes::at_once},
      // The truncated frame is the handshake itself, so the handshake deadline is the one that
      // passes; the frame deadline covers frames after a completed handshake (below).
      {"a handshake header with a truncated payload", handshake_header + std::string(20, 'x'),
       false, "ConnectionRejected", "no complete handshake", closes::at_deadline},
      {"a header announcing a 3 GB frame", header(1, 3000000000u, 0, 0), false,
       "ConnectionRejected", "frame of 3000000000 bytes exceeds the limit", closes::at_once},
      {"a first frame that is not a handshake", direct + std::string(10, 'm'), false,
       "ConnectionRejected", "first frame is not a handshake", closes::at_once},
      {"a silent connection", "", false, "ConnectionRejected", "no complete handshake",
       closes::at_deadline},
      {"a peer's handshake, then a message never finished", handshake + message + "partial", false,
       "ConnectionRejected", "frame not completed within the frame timeout", closes::at_deadline},
      {"a peer's handshake, then half a message and a hang-up", handshake + message + "partial",
       true, "ConnectionLost", "closed in the middle of a frame", closes::at_once},
  };
}

// Bad inputs for the client listener.
std::vector<bad_input> client_bad_inputs() {
  return {
      // Their first four bytes announce a frame of more than 4 MiB.
      {"random bytes", noise(64, 20240611), false, "ConnectionClosed", "bytes; at most",
       closes::at_once, kv::msg::ERR_TOO_LARGE},
      {"a header announcing a 3 GB frame", length_header(3000000000u), false, "ConnectionClosed",
       "a frame of 3000000000 bytes; at most 4194304 are taken", closes::at_once,
       kv::msg::ERR_TOO_LARGE},
      {"a frame that does not parse", length_header(6) + std::string(6, '\xff'), false,
       "ConnectionClosed", "a client frame that does not parse", closes::at_once},
      {"a hello of a version the node does not speak", hello(2), false, "ConnectionClosed",
       "protocol version 2 is not spoken here", closes::at_once},
      {"a second hello", hello() + ping(1) + hello(), false, "ConnectionClosed", "a second hello",
       closes::at_once},
      {"a truncated length header", length_header(100).substr(0, 2), false, "ConnectionClosed",
       "no hello within the handshake timeout", closes::at_deadline},
      // Before the hello, the handshake deadline is the one that passes.
      {"a truncated frame", length_header(100) + std::string(20, 'x'), false, "ConnectionClosed",
       "no hello within the handshake timeout", closes::at_deadline},
      {"a silent connection", "", false, "ConnectionClosed",
       "no hello within the handshake timeout", closes::at_deadline},
      {"a hello, then a frame never finished", hello() + length_header(100) + "partial", false,
       "ConnectionClosed", "frame not completed within the frame timeout", closes::at_deadline},
      {"a hello, then half a frame and a hang-up", hello() + length_header(100) + "partial", true,
       "ConnectionLost", "closed in the middle of a frame", closes::at_once},
  };
}

// The log line about `peer`, or "".
std::string line_about(const std::string& log, const std::string& peer) {
  size_t at = 0;
  while ((at = log.find(peer, at)) != std::string::npos) {
    auto begin = log.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    auto end = log.find('\n', at);
    auto line = log.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    if (line.find("Connection") != std::string::npos) return line;
    at += peer.size();
  }
  return "";
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

// The node's last word on a client connection: its goodbye, or the error in its answer to the
// hello; nullopt if it said neither.
std::optional<kv::msg::Error> last_word(const std::string& received) {
  auto frames = node_frames(received);
  if (frames.empty()) return std::nullopt;
  auto& last = frames.back();
  if (last.has_goodbye()) return last.goodbye();
  if (last.has_hello() && last.hello().has_error()) return last.hello().error();
  return std::nullopt;
}

// The first frame (header and payload) a real CAF peer sends: its client handshake. The test's
// own actor system connects to the node's peer listener through a relay, which keeps what it
// sent. The frame's bytes are valid for any later connection.
std::string capture_peer_handshake(const node& n) {
  kv::test::recording_relay relay{peer_port(n)};
  {
    kv::test::peer_system peer;
    auto front = peer.connect(relay.port());
    REQUIRE(front);
  }  // the actor system goes, and its connection with it: the relay ends
  auto& up = relay.client_bytes();
  REQUIRE(up.size() > 32);
  uint32_t payload = 0;
  for (int i = 4; i < 8; ++i) payload = (payload << 8) | static_cast<unsigned char>(up[i]);
  REQUIRE(up.size() >= 32 + payload);
  REQUIRE(up[0] == 1);  // a client handshake
  return up.substr(0, 32 + payload);
}

// Watches `conns` until the node has closed all of them or `deadline` passes: how long after
// `sent` each was closed (-1: still open). Runs beside the test's main thread.
std::vector<milliseconds> watch_closes(std::vector<std::unique_ptr<connection>>& conns,
                                       steady::time_point sent, steady::time_point deadline) {
  std::vector<milliseconds> closed_after(conns.size(), milliseconds{-1});
  for (size_t open = conns.size(); open > 0 && steady::now() < deadline;) {
    open = 0;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (closed_after[i].count() >= 0) continue;
      if (conns[i]->closed_by_peer())
        closed_after[i] = std::chrono::duration_cast<milliseconds>(steady::now() - sent);
      else
        ++open;
    }
    if (open > 0) std::this_thread::sleep_for(10ms);
  }
  return closed_after;
}

bool kvctl_reads(const node& n, const std::string& key, const std::string& value) {
  auto r = kv::test::run_kvctl({"--node", n.address(), "--timeout", "2000", "get", key, "--raw"});
  INFO("kvctl get " << key << ": exit " << r.exit_code << ", " << r.first_err_line());
  return r.exit_code == 0 && r.out == value;
}

// Opens a connection to `port` for every input at once (they are independent, and the slow ones,
// waiting out a 3 s deadline, then overlap), checks that the node serves meanwhile, and that
// each connection was closed, when, and with which logged reason. Returns the connections, with
// what the node sent on each.
std::vector<std::unique_ptr<connection>> expect_closed(node& n, uint16_t port,
                                                       const std::vector<bad_input>& inputs) {
  std::vector<std::unique_ptr<connection>> conns;
  auto sent = steady::now();
  for (auto& in : inputs) {
    conns.push_back(std::make_unique<connection>(port));
    if (!in.bytes.empty()) conns.back()->send(in.bytes);
    if (in.hang_up) conns.back()->hang_up_writing();
  }
  auto deadline = sent + std::max(handshake_timeout, frame_timeout) + 2s;
  std::vector<milliseconds> closed_after;
  std::thread watcher{[&] { closed_after = watch_closes(conns, sent, deadline); }};
  // The node serves while the bad connections are still open (the slow ones close after 3 s).
  // kvctl runs from this thread: process.hpp ties a child to the thread that started it.
  CHECK(kvctl_reads(n, "wire-0", "value-0"));
  watcher.join();

  for (size_t i = 0; i < inputs.size(); ++i) {
    auto& in = inputs[i];
    INFO(in.what << " (" << conns[i]->peer() << ")");
    std::cout << "bad input on port " << port << ": " << in.what << ": closed after "
              << closed_after[i].count() << " ms\n";
    CHECK(closed_after[i].count() >= 0);
    if (in.when == closes::at_once)
      CHECK(closed_after[i] < std::min(handshake_timeout, frame_timeout));
    else
      CHECK(closed_after[i] >= std::min(handshake_timeout, frame_timeout));
    CHECK(n.wait_for_log(conns[i]->peer(), 2s));
    auto line = line_about(n.log(), conns[i]->peer());
    INFO("log line: " << line);
    CHECK_THAT(line, Catch::Contains(in.event) && Catch::Contains(in.reason));
  }
  return conns;
}

void put_keys(kv::client::blocking_client& db) {
  for (int i = 0; i < 20; ++i)
    REQUIRE(db.put("wire-" + std::to_string(i), "value-" + std::to_string(i)));
}

void expect_keys(kv::client::blocking_client& db) {
  for (int i = 0; i < 20; ++i) {
    auto got = db.get("wire-" + std::to_string(i));
    REQUIRE(got);
    REQUIRE(got->siblings.size() == 1);
    CHECK(got->siblings[0].value == "value-" + std::to_string(i));
  }
}

// Sends `bytes` on a fresh connection and waits up to `timeout` for the node to close it.
bool closes_after(uint16_t port, const std::string& bytes, std::string& peer,
                  milliseconds timeout = 5000ms) {
  connection conn{port};
  peer = conn.peer();
  conn.send(bytes);
  auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    if (conn.closed_by_peer()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE(
    "bad bytes on the node's peer port close that connection with a logged reason, "
    "and the node keeps serving its data",
    "[integration][port]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  kv::client::blocking_client db{kv::test::client_config_for(n)};
  put_keys(db);
  auto inputs = peer_bad_inputs(capture_peer_handshake(n));

  expect_closed(n, peer_port(n), inputs);

  CHECK(n.proc().running());
  CHECK(kvctl_reads(n, "wire-19", "value-19"));
  expect_keys(db);
}

TEST_CASE(
    "bad bytes on the node's client port get a goodbye saying why, close that connection "
    "with a logged reason, and the node keeps serving its data",
    "[integration][port]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  kv::client::blocking_client db{kv::test::client_config_for(n)};
  put_keys(db);
  auto inputs = client_bad_inputs();

  auto conns = expect_closed(n, n.port(), inputs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto& in = inputs[i];
    INFO(in.what);
    auto said = last_word(conns[i]->received());
    if (std::string_view{in.event} == "ConnectionLost") {
      CHECK_FALSE(said);  // the client went first: nobody to say goodbye to
      continue;
    }
    REQUIRE(said);
    CHECK_THAT(said->message(), Catch::Contains(in.reason));
    CHECK(said->code() == in.code);
    if (std::string_view{in.what} == "a second hello") {
      auto frames = node_frames(conns[i]->received());  // what came before was answered
      REQUIRE(frames.size() == 3);
      CHECK(frames[0].has_hello());
      CHECK(frames[1].response().has_pong());
    }
  }
  CHECK(n.proc().running());
  CHECK(kvctl_reads(n, "wire-19", "value-19"));
  expect_keys(db);
}

// BASP handles a handshake frame by parsing its payload; a handshake header announcing no
// payload at all must be refused before that, whether it comes first or after a completed
// handshake. One 32-byte frame must never take the node down.
TEST_CASE("a handshake frame announcing an empty payload is refused, and the node keeps running",
          "[integration][port]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  REQUIRE(kv::test::run_kvctl({"--node", n.address(), "put", "survivor", "here"}).exit_code == 0);
  auto handshake = capture_peer_handshake(n);
  struct bad_frame {
    const char* what;
    std::string bytes;
  };
  auto which = GENERATE(0, 1, 2);
  std::vector<bad_frame> frames = {
      {"a first frame that is a client handshake without payload", header(1, 0, 0, 0)},
      {"a client handshake, then a second one without payload", handshake + header(1, 0, 0, 0)},
      {"a client handshake, then a server handshake without payload",
       handshake + header(0, 0, 1, 0)},
  };
  auto& frame = frames[which];
  INFO(frame.what);
  std::string peer;
  // Refusing the frame closes the connection; ignoring it would be fine too: what matters is
  // that the node survives it.
  static_cast<void>(closes_after(peer_port(n), frame.bytes, peer, 2000ms));  // ignored: see above
  auto code = n.proc().wait_exit(500ms);
  INFO("kvnode exit status: " << (code ? std::to_string(*code) : "still running") << "; log:\n"
                              << n.log());
  std::cout << "wire: " << frame.what << ": kvnode "
            << (code ? "DIED with status " + std::to_string(*code) : std::string{"kept running"})
            << "\n";
  REQUIRE_FALSE(code.has_value());
  CHECK(kvctl_reads(n, "survivor", "here"));
}

// Frames the guard lets through (their headers are fine) can still be refused by BASP itself,
// which then closes the connection; that close must leave a trace in the log too.
TEST_CASE("a handshake whose payload BASP cannot parse closes the connection with a logged reason",
          "[integration][port]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  std::string payload;
  for (int i = 0; i < 100; ++i) payload += static_cast<char>((i * 37 + 11) & 0xFF);
  std::string peer;
  CHECK(closes_after(peer_port(n), header(1, 100, 0, 0) + payload, peer));
  INFO("log:\n" << n.log());
  CHECK(n.wait_for_log(peer, 2s));
  auto line = line_about(n.log(), peer);
  CHECK_THAT(line, Catch::Contains("ConnectionRejected") || Catch::Contains("ConnectionLost"));
  CHECK(n.proc().running());
}
