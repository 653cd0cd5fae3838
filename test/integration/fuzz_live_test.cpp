// Mutated frames against a running node, on both listeners that take strangers' bytes (issue 13,
// requirement 7). A relay records two genuine conversations: a kvctl put on the client listener
// (the client protocol: a hello, then the request) and a CAF peer's on the peer listener (the
// test's own actor system: a BASP handshake, then a ReplicaBatch of a write, a read and a tree
// call to the front). The test then opens a few thousand connections of its own to each
// listener and sends its conversation with one thing changed each time, and checks that the
// node is still running, that its memory stayed bounded, that what it refused was counted where
// it belongs, that no message wrote lines to its log past the listeners' budgets, and that it
// still serves a put and a get.
//
// The same runs a second time against a node with mutual TLS and an ACL. There every mutated
// conversation travels inside a TLS session whose handshake completed with a valid certificate
// (a client's whose principal may read and write `default`, or another node's), so that the
// mutations reach the frames behind TLS, not the handshake (which test/fuzz fuzzes on its own).
// The relay then records the plaintext inside the sessions: it speaks TLS towards the node
// while kvctl and the test's peer talk plaintext to it.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"
#include "caf/io/basp/header.hpp"
#include "cluster/consistency.hpp"
#include "messages/framing.hpp"
#include "test/fuzz/fuzz.hpp"
#include "test/support/peer_system.hpp"
#include "test/support/process.hpp"
#include "test/support/relay.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/tls_stream.hpp"

namespace {

using namespace std::chrono_literals;
using kv::test::node;
using kv::test::run_kvctl;
namespace basp = caf::io::basp;
using steady = std::chrono::steady_clock;

// Each listener gets this long of mutated conversations (or opts.iterations of them); with TLS
// a little less, so that the TLS run adds under 30 s to the suite.
constexpr auto budget_per_listener = 12s;
constexpr auto budget_per_listener_tls = 10s;

// -- the client protocol: a 4-byte big-endian length, then the payload ------------------------

std::string framed(const std::string& payload) {
  auto n = static_cast<uint32_t>(payload.size());
  return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)} +
         payload;
}

// The payloads of a recorded client conversation.
std::vector<std::string> client_frames_of(const std::string& bytes) {
  kv::protocol::frame_reader reader{kv::protocol::default_max_frame_bytes};
  reader.feed(bytes);
  std::vector<std::string> out;
  for (auto next = reader.next(); next && *next; next = reader.next()) out.push_back(**next);
  REQUIRE(reader.buffered() == 0);
  return out;
}

// The client conversation with one thing changed, chosen by `choose`: the bytes of the whole,
// a cut anywhere, a frame's length header (its payload unchanged), a frame's payload (its
// header announcing the new length), or a frame repeated.
std::string mutated_client(const std::vector<std::string>& payloads, const std::string& whole,
                           kv::fuzz::chooser& choose) {
  auto how = choose.below(5);
  if (how == 0) {
    auto out = whole;
    kv::fuzz::mutate(out, {whole}, choose);
    return out;
  }
  if (how == 1) return whole.substr(0, choose.below(whole.size()));
  // Payload changes spare the hello most of the time: the mutation then reaches the requests.
  auto victim = choose.below(payloads.size());
  if (how == 2 && victim == 0 && !choose.one_in(8)) victim = 1 + choose.below(payloads.size() - 1);
  std::string out;
  for (size_t i = 0; i < payloads.size(); ++i) {
    auto frame = framed(payloads[i]);
    if (i == victim && how == 2) {
      auto payload = payloads[i];
      kv::fuzz::mutate(payload, payloads, choose);
      frame = framed(payload);
    } else if (i == victim && how == 3) {  // a length off by a few bytes, or by a lot
      auto length = static_cast<uint32_t>(
          choose.one_in(2) ? choose.interesting() : payloads[i].size() + choose.below(9) - 4);
      for (int b = 0; b < 4; ++b) frame[b] = static_cast<char>(length >> (24 - 8 * b));
    } else if (i == victim && how == 4) {
      for (auto copies = 1 + choose.below(64); copies > 0; --copies) out += frame;
    }
    out += frame;
  }
  return out;
}

// -- BASP: a 32-byte header, then the payload it announces ------------------------------------

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

// The frames of a recorded BASP conversation.
std::vector<frame> basp_frames_of(const std::string& bytes) {
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

// The BASP conversation with one thing changed, chosen by `choose`: a frame's payload (its
// header announcing the new length), a frame's header, or the bytes of the whole conversation.
std::string mutated_basp(const std::vector<frame>& frames, const std::vector<std::string>& payloads,
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

// -- TLS ------------------------------------------------------------------------------------

using tls_ctx = std::shared_ptr<kv::actors::tls_context>;

// Certificates of one CA (scripts/certs.sh) and an ACL for a node with mutual TLS: n1's own;
// "fuzzpeer", a node certificate, for the peer conversations; "fuzzer", a client whose
// principal may read and write `default` and nothing more, for the client conversations and
// the put and get after; "admin", who reads the metrics.
struct tls_setup {
  explicit tls_setup(const std::string& dir) : certs(dir + "/certs"), acl(dir + "/acl.toml") {
    auto cmd = std::string{"bash "} + KV_SOURCE_DIR + "/scripts/certs.sh " + certs +
               " --nodes n1,fuzzpeer --clients fuzzer,admin > /dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::ofstream{acl} << "[principal.admin]\nadmin = true\n"
                          "[principal.fuzzer]\nread = [\"default\"]\nwrite = [\"default\"]\n";
    client = kv::test::tls_client_context(files("fuzzer"));
    peer = kv::test::tls_client_context(files("fuzzpeer"));
    monitor = kv::test::tls_client_context(files("admin"));
  }

  kv::actors::tls_files files(const std::string& name) const {
    return {certs + "/" + name + ".pem", certs + "/" + name + ".key", certs + "/ca.pem"};
  }
  std::vector<std::string> node_flags() const {
    return {"--tls-cert", certs + "/n1.pem", "--tls-key", certs + "/n1.key",
            "--tls-ca",   certs + "/ca.pem", "--acl",     acl};
  }
  // kvctl's, as the fuzzer.
  std::vector<std::string> kvctl_flags() const {
    return {"--ca",  certs + "/ca.pem",    "--cert", certs + "/fuzzer.pem",
            "--key", certs + "/fuzzer.key"};
  }

  std::string certs;
  std::string acl;
  tls_ctx client;
  tls_ctx peer;
  tls_ctx monitor;
};

// A listener conversations go to: plain, or inside TLS sessions that present the certificate
// of `tls`. It counts the sessions opened and those whose handshake did not complete (their
// conversation was not sent).
struct target {
  target(uint16_t port, tls_ctx tls) : port(port), tls(std::move(tls)) {}

  uint16_t port;
  tls_ctx tls;
  size_t handshakes = 0;
  size_t handshakes_failed = 0;
  std::string first_failure;
};

// -- recording --------------------------------------------------------------------------------

// What kvctl sends the client listener for one put: its hello, then the put. Towards a TLS
// node the relay speaks TLS as the certificate of `tls`; kvctl talks plaintext to the relay, as
// it has no credentials here (no flags, and the harness clears the environment's:
// test/support/process.cpp), and its hello carries no token, so the certificate names the
// principal.
std::string record_client_put(const node& n, tls_ctx tls) {
  kv::test::recording_relay relay{n.port(), 15000ms, std::move(tls)};
  auto put = run_kvctl(
      {"--node", relay.address(), "--timeout", "3000", "put", "fuzz:k", "v1", "--ns", "default"});
  REQUIRE(put.exit_code == 0);
  return relay.client_bytes();
}

kv::msg::ReplicaCall replica_call(uint64_t id) {
  kv::msg::ReplicaCall call;
  call.set_id(id);
  return call;
}

// What a CAF peer sends the peer listener: its handshake, then a batch of a write, a read and
// a tree call to the front (as a peer link sends them), and whatever CAF adds until it goes.
// The write is a blind one, as a coordinator sends it, with the namespace's bounds: thousands of
// them add as many siblings to one key, and without max_siblings each would rewrite an object
// ever larger (the node then spends its time and memory on that, not on the bad frames).
// Towards a TLS node the relay speaks TLS as the node certificate of `tls`, and the peer talks
// BASP to it in plaintext: its frames name the node's id all the same, as the relay passes the
// node's handshake on.
std::string record_peer_batch(const node& n, tls_ctx tls) {
  kv::test::recording_relay relay{static_cast<uint16_t>(n.port() + kv::test::node_port_offset_peer),
                                  15000ms, std::move(tls)};
  {
    kv::test::peer_system peer;
    auto front = peer.connect(relay.port());
    REQUIRE(front);
    kv::msg::ReplicaBatch batch;
    auto write = replica_call(1);
    write.mutable_write()->set_partition(1);
    write.mutable_write()->set_ns("default");
    write.mutable_write()->set_key("fuzz:peer");
    write.mutable_write()->mutable_create()->set_value("v1");
    write.mutable_write()->mutable_create()->set_timestamp_ms(1700000000000);
    kv::cluster::namespace_config bounds;
    write.mutable_write()->mutable_create()->set_max_object_bytes(bounds.max_object_bytes);
    write.mutable_write()->mutable_create()->set_max_siblings(bounds.max_siblings);
    *batch.add_calls() = write;
    auto read = replica_call(2);
    read.mutable_read()->set_partition(1);
    read.mutable_read()->set_ns("default");
    read.mutable_read()->set_key("fuzz:peer");
    *batch.add_calls() = read;
    auto tree = replica_call(3);
    tree.mutable_tree()->set_partition(1);
    *batch.add_calls() = tree;
    caf::scoped_actor self{peer.sys};
    self->send(*front, batch);
    int results = 0;
    for (bool waiting = true; waiting && results < 3;)
      self->receive([&](const kv::msg::ReplicaResults& r) { results += r.results_size(); },
                    caf::after(std::chrono::seconds(5)) >> [&] { waiting = false; });
    REQUIRE(results == 3);
  }  // the actor system goes, and its connection with it: the relay ends
  return relay.client_bytes();
}

// `recorded` with the namespace no longer UTF-8 (same length, so no lengths change): protobuf
// refuses the message, and used to write a line to the node's stderr for each.
std::string not_utf8(std::string recorded) {
  for (auto at = recorded.find("default"); at != recorded.npos; at = recorded.find("default", at))
    recorded[at + 6] = '\xff';
  return recorded;
}

// -- sending ----------------------------------------------------------------------------------

// Sends `bytes` on a new connection and closes it; reads whatever the node answers meanwhile.
void send_plain(uint16_t port, const std::string& bytes) {
  int fd = kv::test::connect_loopback(port);
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

// The same inside a TLS session whose handshake completed, close_notify standing for
// shutdown(SHUT_WR); every wait ends within 3 s. A handshake that does not complete is counted
// and its conversation not sent.
void send_once(target& to, const std::string& bytes) {
  if (!to.tls) return send_plain(to.port, bytes);
  auto deadline = steady::now() + 3s;
  kv::test::tls_stream session{to.tls, to.port, deadline};
  ++to.handshakes;
  if (!session.ok()) {
    if (to.handshakes_failed++ == 0) to.first_failure = session.failure();
    return;
  }
  static_cast<void>(session.write_all(bytes, deadline));  // ignored: the node may close first
  session.finish();
  session.drain(5ms, deadline);
}

// VmRSS of `pid` in KiB, 0 if unreadable.
uint64_t rss_kib(pid_t pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

// Sends mutated conversations (input i made by `make` from the chooser of i) to `to`, one
// connection each, until opts.iterations or the listener's budget is reached. Fails as soon as
// the node is gone (it checks every 50 inputs), naming the input. Returns how many were sent
// (with TLS, those whose handshake failed included: to.handshakes_failed counts them).
size_t hammer(node& n, target& to, const std::string& name, const kv::fuzz::options& opts,
              const std::function<std::string(kv::fuzz::chooser&)>& make, uint64_t& rss_peak) {
  auto deadline = steady::now() + (to.tls ? budget_per_listener_tls : budget_per_listener);
  size_t sent = 0;
  for (size_t i = 0; i < opts.iterations && steady::now() < deadline; ++i, ++sent) {
    auto choose = kv::fuzz::chooser_for(opts.seed, i);
    auto input = make(choose);
    if (const char* dump = std::getenv("KV_FUZZ_LIVE_DUMP"))
      std::ofstream{std::string{dump} + "/" + name + "-" + std::to_string(i), std::ios::binary}
          << input;
    send_once(to, input);
    if (i % 50 != 0) continue;
    if (!n.proc().running()) {
      auto log = n.log();
      FAIL("the node ended (status "
           << n.proc().wait_exit(1000ms).value_or(-1) << ") by " << name << " input " << i
           << "; its log ends: " << log.substr(log.size() - std::min<size_t>(log.size(), 1500)));
    }
    rss_peak = std::max(rss_peak, rss_kib(n.proc().pid()));
  }
  return sent;
}

// How many lines of `log` hold `what`.
size_t count(const std::string& log, std::string_view what) {
  size_t k = 0;
  for (auto at = log.find(what); at != log.npos; at = log.find(what, at + 1)) ++k;
  return k;
}

// How many connections the node's TLS layer refused, by its audit log: their reasons name TLS
// or the certificate. (The port guard's refusals of frames are audited too, with reasons of
// their own.)
size_t refused_by_tls(const std::string& audit) {
  size_t k = 0;
  std::istringstream lines{audit};
  for (std::string line; std::getline(lines, line);)
    if (line.find("\"event\":\"connection_refused\"") != line.npos &&
        (line.find("TLS") != line.npos || line.find("certificate") != line.npos))
      ++k;
  return k;
}

// `a`, then `b`.
std::vector<std::string> joined(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The event names of the node's warning and error lines, with how often each came.
std::map<std::string, size_t> events(const std::string& log) {
  std::map<std::string, size_t> out;
  std::istringstream lines{log};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words{line};
    std::string when, level, logger, event;
    if (words >> when >> level >> logger >> event && (level == "warning" || level == "error"))
      ++out[logger + " " + event];
  }
  return out;
}

// The whole run against one node, plain or with mutual TLS and an ACL; `label` starts the
// summary lines.
void fuzz_live(bool tls) {
  const std::string label = tls ? "live fuzz (TLS)" : "live fuzz";
  const std::string prefix = tls ? "tls-" : "";
  kv::test::temp_dir dir;
  std::optional<tls_setup> secure;
  if (tls) secure.emplace(dir.str());
  auto http_port = kv::test::free_port();
  auto started = steady::now();
  std::vector<std::string> flags{"--http", "127.0.0.1:" + std::to_string(http_port)};
  if (tls) flags = joined(flags, secure->node_flags());
  node n{dir.str(), flags};
  auto pid = n.proc().pid();
  target client{n.port(), tls ? secure->client : nullptr};
  target peer{static_cast<uint16_t>(n.port() + kv::test::node_port_offset_peer),
              tls ? secure->peer : nullptr};

  auto client_recorded = record_client_put(n, client.tls);
  auto client_payloads = client_frames_of(client_recorded);
  REQUIRE(client_payloads.size() >= 2);  // the hello and the put
  auto peer_recorded = record_peer_batch(n, peer.tls);
  auto peer_frames = basp_frames_of(peer_recorded);
  REQUIRE(peer_frames.size() >= 2);  // the handshake and the batch
  std::vector<std::string> peer_payloads;
  for (auto& f : peer_frames) peer_payloads.push_back(f.payload);

  auto rss_before = rss_kib(pid);
  uint64_t rss_peak = rss_before;
  auto client_opts =
      kv::fuzz::options_for(tls ? "live_client_tls" : "live_client", tls ? 13603 : 13601, 10000);
  auto client_sent = hammer(
      n, client, prefix + "client", client_opts,
      [&](kv::fuzz::chooser& c) { return mutated_client(client_payloads, client_recorded, c); },
      rss_peak);
  auto peer_opts =
      kv::fuzz::options_for(tls ? "live_peer_tls" : "live_peer", tls ? 13604 : 13602, 10000);
  auto peer_sent = hammer(
      n, peer, prefix + "peer", peer_opts,
      [&](kv::fuzz::chooser& c) {
        return mutated_basp(peer_frames, peer_payloads, peer_recorded, c);
      },
      rss_peak);
  auto client_bad = not_utf8(client_recorded);
  auto peer_bad = not_utf8(peer_recorded);
  REQUIRE(client_bad != client_recorded);
  REQUIRE(peer_bad != peer_recorded);
  for (int i = 0; i < 200; ++i) {
    send_once(client, client_bad);
    send_once(peer, peer_bad);
  }
  std::this_thread::sleep_for(500ms);
  auto rss_after = rss_kib(pid);
  rss_peak = std::max(rss_peak, rss_after);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(steady::now() - started).count();

  std::cout << label << ": " << client_sent << " client conversations of " << client_payloads.size()
            << " frames and " << peer_sent << " peer conversations of " << peer_frames.size()
            << " frames, one thing changed in each; VmRSS " << rss_before / 1024 << " MiB before, "
            << rss_peak / 1024 << " MiB at most, " << rss_after / 1024 << " MiB after" << std::endl;
  auto audit = kv::test::read_file(n.data_dir() + "/audit.log");
  auto audited = [&](const char* event) {
    return count(audit, std::string{"\"event\":\""} + event + "\"");
  };
  if (tls)
    std::cout << label << ": " << client.handshakes << " client and " << peer.handshakes
              << " peer TLS sessions, " << client.handshakes_failed + peer.handshakes_failed
              << " handshakes not completed; audit log: " << audited("connection_refused")
              << " connections refused (" << refused_by_tls(audit) << " by TLS), "
              << audited("denied") << " calls denied, " << audited("auth_failed")
              << " hellos refused" << std::endl;
  auto log = n.log();
  std::cout << label << ": node log " << log.size() << " bytes over " << seconds << " s, "
            << count(log, "libprotobuf") << " protobuf lines; warnings and errors:";
  for (auto& [event, k] : events(log)) std::cout << " " << event << " " << k << ";";
  std::cout << std::endl;
  auto metric = [&](const std::string& name) {
    return tls ? kv::test::metric(secure->monitor, http_port, name)
               : kv::test::metric(http_port, name);
  };
  auto client_closed = metric("ringkv_connections_rejected_total{listener=\"client\"}");
  auto peer_closed = metric("ringkv_connections_rejected_total{listener=\"peer\"}");
  auto client_refused = metric("ringkv_listener_refused_total{listener=\"client\"}");
  auto peer_refused = metric("ringkv_listener_refused_total{listener=\"peer\"}");
  auto messages_refused = metric("ringkv_messages_refused_total");
  std::cout << label << ": connections closed: " << client_closed << " client, " << peer_closed
            << " peer; calls refused by the listener: " << client_refused << " client, "
            << peer_refused << " peer; " << messages_refused
            << " peer messages refused by their deserializer" << std::endl;

  REQUIRE(n.proc().running());
  CHECK(client_sent >= 1000);
  CHECK(peer_sent >= 1000);
  if (tls) {
    // Every conversation went inside a session whose handshake completed, and the node's TLS
    // layer refused none. Both are needed: a TLS 1.3 client finishes its handshake before the
    // node has checked its certificate, and learns of a refusal only by its next read.
    INFO("the first handshakes that failed: client \"" << client.first_failure << "\", peer \""
                                                       << peer.first_failure << "\"");
    CHECK(client.handshakes_failed == 0);
    CHECK(peer.handshakes_failed == 0);
    CHECK(refused_by_tls(audit) == 0);
  }
  CHECK(rss_peak - rss_before < kv::fuzz::max_rss_bytes / 1024);  // KiB
  // Mutations reached the frames and the messages, not only the framing.
  CHECK(client_closed >= 200);     // goodbyes, the 200 not UTF-8 among them
  CHECK(peer_closed >= 1);         // the port guard's refusals of mutated headers
  CHECK(messages_refused >= 200);  // the peer's messages that did not deserialize
  CHECK(count(log, "libprotobuf") == 0);
  // Each listener logs at most 10 connection lines a second, plus one saying how many it held
  // back; the peer listener's front at most one line a second about messages it does not serve.
  auto budget = static_cast<size_t>(11 * (seconds + 1));
  CHECK(count(log, "door=client") <= budget);
  CHECK(count(log, " port Connection") <= budget);
  CHECK(count(log, "UnexpectedMessage") <= static_cast<size_t>(seconds + 1));

  auto credentials = tls ? secure->kvctl_flags() : std::vector<std::string>{};
  auto again = run_kvctl(
      joined(credentials, {"--node", n.address(), "--timeout", "3000", "put", "fuzz:after", "v2"}));
  CHECK(again.exit_code == 0);
  auto got = run_kvctl(joined(
      credentials, {"--node", n.address(), "--timeout", "3000", "get", "fuzz:after", "--raw"}));
  CHECK(got.exit_code == 0);
  CHECK(got.out == "v2");
}

}  // namespace

TEST_CASE("a node hit by thousands of mutated frames stays up, bounded and serving",
          "[integration][fuzz]") {
  fuzz_live(false);
}

TEST_CASE(
    "a node with mutual TLS hit by thousands of mutated frames inside TLS sessions stays up, "
    "bounded and serving",
    "[integration][fuzz][security]") {
  fuzz_live(true);
}
