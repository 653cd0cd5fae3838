// kvbench in smoke mode against every target it drives: a single kvnode, a three-node cluster
// with R=W=2, redis-server and a single-member etcd (which scripts/setup.sh installs: their
// absence fails the test) and kvbench's own echo server; plus the write-only workload W and a
// load phase with its own concurrency. Each run takes a few seconds and must complete with zero
// errors, a table with read, update and total rows, and JSON with a positive throughput and
// kvbench's own CPU time per operation (with the server's, against the echo server). Every
// process is killed by PID when its test ends.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <sstream>

#include <catch2/catch.hpp>

#include "test/integration/cluster_support.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::test::process;
using kv::test::cluster_support::json;
using kv::test::cluster_support::json_reader;
using std::chrono::milliseconds;

std::string kvbench_path() {
  return std::string{KV_BIN_DIR} + "/kvbench";
}

struct bench_run {
  int exit_code = -1;  // -1: killed for overrunning
  std::vector<std::string> out;
  std::string err;

  std::string describe() const {
    std::string text = "exit " + std::to_string(exit_code) + "\nstdout:\n";
    for (auto& l : out) text += l + "\n";
    return text + "stderr:\n" + err;
  }
  bool has_row(const std::string& name) const {
    for (auto& l : out)
      if (l.rfind(name + " ", 0) == 0) return true;
    return false;
  }
};

bench_run run_kvbench(const kv::test::temp_dir& dir, std::vector<std::string> args,
                      milliseconds bound = 30s) {
  auto err_path = dir.sub("kvbench.err");
  std::remove(err_path.c_str());
  process p{kvbench_path(), std::move(args), err_path};
  bench_run r;
  auto code = p.wait_exit(bound);
  if (!code) p.kill_now();
  static_cast<void>(p.wait_for_line("\x01", 1s));  // ignored: only drains stdout
  r.exit_code = code ? *code : -1;
  r.out = p.lines();
  r.err = kv::test::read_file(err_path);
  return r;
}

json read_json(const std::string& path) {
  auto parsed = json_reader::parse(kv::test::read_file(path));
  REQUIRE(parsed);
  return *parsed;
}

// The value following `flag` in `args`, or `fallback`.
std::string flag_value(const std::vector<std::string>& args, const std::string& flag,
                       const std::string& fallback) {
  auto at = std::find(args.begin(), args.end(), flag);
  return at != args.end() && at + 1 != args.end() ? *(at + 1) : fallback;
}

bool printed(const bench_run& r, const std::string& text) {
  for (auto& l : r.out)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

// The checks every smoke run must pass; returns the run's stdout lines and its JSON.
std::pair<bench_run, json> check_clean_run(const kv::test::temp_dir& dir,
                                           std::vector<std::string> args) {
  auto json_path = dir.sub("bench.json");
  std::remove(json_path.c_str());
  args.insert(args.end(), {"--smoke", "--json", json_path});
  auto r = run_kvbench(dir, args);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  CHECK(r.has_row("read"));
  CHECK(r.has_row("update"));
  CHECK(r.has_row("total"));
  auto doc = read_json(json_path);
  CHECK(std::stod(doc["throughput"].text) > 0);
  CHECK(std::stoull(doc["ops"].text) > 0);
  CHECK(doc["error_count"].text == "0");
  CHECK(doc["errors"].fields.empty());
  CHECK(std::stod(doc["latency_us"]["p50"].text) > 0);
  CHECK(std::stod(doc["latency_us"]["p99"].text) >= std::stod(doc["latency_us"]["p50"].text));
  CHECK(doc["read"]["latency_us"]["p999"].type == json::kind::number);
  CHECK(doc["config"]["concurrency"].text == flag_value(args, "--concurrency", "32"));
  CHECK(std::stod(doc["cpu"]["client_s"].text) > 0);
  CHECK(std::stod(doc["cpu"]["us_per_op"].text) > 0);
  CHECK(printed(r, "cpu: "));
  return {r, doc};
}

// Whether an HTTP server on 127.0.0.1:`port` answers GET `path` with a body containing
// `expect`, within `timeout`.
bool http_get_contains(uint16_t port, const std::string& path, const std::string& expect,
                       milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    pollfd pfd{fd, POLLIN, 0};
    char buf[4096];
    while (::poll(&pfd, 1, static_cast<int>(timeout.count())) > 0) {
      auto n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      reply.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return reply.find(expect) != std::string::npos;
}

// A single-member etcd on free loopback ports (client and peer) with its data in `dir`; the
// process object kills it by PID when it goes.
struct etcd_member {
  uint16_t client_port = kv::test::free_port();
  uint16_t peer_port = kv::test::free_port();
  std::optional<process> proc;

  etcd_member(const std::string& program, const kv::test::temp_dir& dir) {
    while (peer_port == client_port) peer_port = kv::test::free_port();
    auto client_url = "http://127.0.0.1:" + std::to_string(client_port);
    auto peer_url = "http://127.0.0.1:" + std::to_string(peer_port);
    proc.emplace(program,
                 std::vector<std::string>{
                     "--name", "bench", "--data-dir", dir.sub("etcd"), "--listen-client-urls",
                     client_url, "--advertise-client-urls", client_url, "--listen-peer-urls",
                     peer_url, "--initial-advertise-peer-urls", peer_url, "--initial-cluster",
                     "bench=" + peer_url, "--logger", "zap", "--log-level", "error"},
                 dir.sub("etcd.log"));
  }

  // True once /health reports a leader, polling for up to `timeout`.
  bool await_healthy(milliseconds timeout) {
    for (auto deadline = std::chrono::steady_clock::now() + timeout;
         std::chrono::steady_clock::now() < deadline && proc->running(); ::usleep(100 * 1000))
      if (http_get_contains(client_port, "/health", "\"health\":\"true\"", 1s)) return true;
    return false;
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(client_port); }
};

// The full path of `name` on $PATH, or "".
std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs{path ? path : "/usr/bin:/bin"};
  for (std::string d; std::getline(dirs, d, ':');)
    if (auto full = d + "/" + name; ::access(full.c_str(), X_OK) == 0) return full;
  return {};
}

}  // namespace

TEST_CASE("kvbench completes a smoke run against one node without errors",
          "[integration][kvbench]") {
  kv::test::temp_dir dir;
  kv::test::node n{dir.str()};
  SECTION("workload A, uniform, with the load phase") {
    check_clean_run(dir, {"--nodes", n.address(), "--workload", "A"});
  }
  SECTION("workload C, zipfian") {
    check_clean_run(dir, {"--nodes", n.address(), "--workload", "C", "--distribution", "zipfian"});
  }
}

TEST_CASE("kvbench's workload W only updates, and its updates carry contexts",
          "[integration][kvbench]") {
  kv::test::temp_dir dir;
  kv::test::node n{dir.str()};
  auto [run, doc] = check_clean_run(dir, {"--nodes", n.address(), "--workload", "W"});
  CHECK(doc["config"]["workload"].text == "W");
  CHECK(doc["read"]["ops"].text == "0");
  CHECK(std::stoull(doc["update"]["ops"].text) == std::stoull(doc["ops"].text));
  CHECK(printed(run, "(0% reads)"));
  // Blind writes would leave every key with one sibling per write (dozens here); writes that
  // carry the context of the previous one leave at most the few that raced each other.
  auto [reads, after] = check_clean_run(
      dir, {"--nodes", n.address(), "--workload", "C", "--no-load", "--duration", "1"});
  INFO(reads.describe());
  CHECK(std::stoull(after["counters"]["most_siblings_read"].text.empty()
                        ? "1"
                        : after["counters"]["most_siblings_read"].text) <= 4);
}

TEST_CASE("kvbench loads with --load-concurrency and measures with --concurrency",
          "[integration][kvbench]") {
  kv::test::temp_dir dir;
  kv::test::node n{dir.str()};
  auto [run, doc] = check_clean_run(dir, {"--nodes", n.address(), "--workload", "B",
                                          "--load-concurrency", "8", "--concurrency", "1"});
  CHECK(doc["config"]["load_concurrency"].text == "8");
  CHECK(doc["load"]["ops"].text == "1000");
  CHECK(doc["load"]["error_count"].text == "0");
  CHECK(printed(run, "concurrency 1, load concurrency 8"));
}

TEST_CASE("kvbench completes a smoke run against three nodes with R=W=2",
          "[integration][kvbench]") {
  kv::test::temp_dir dir;
  kv::test::cluster c{dir.str(), 3};
  check_clean_run(dir,
                  {"--nodes", c.client_addresses(), "--workload", "A", "--w", "2", "--r", "2"});
}

TEST_CASE("kvbench completes a smoke run against redis-server", "[integration][kvbench]") {
  auto server = on_path("redis-server");
  if (server.empty())
    FAIL("redis-server is not installed; scripts/setup.sh installs it (package redis-server)");
  kv::test::temp_dir dir;
  auto port = std::to_string(kv::test::free_port());
  process redis{server,
                {"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                 dir.str()},
                dir.sub("redis.log")};
  // redis-server logs to stdout; it accepts connections once it says so.
  bool ready = false;
  for (auto deadline = std::chrono::steady_clock::now() + 5s;
       !ready && std::chrono::steady_clock::now() < deadline;) {
    auto line = redis.wait_for_line("", 100ms);
    ready = line && line->find("Ready to accept") != std::string::npos;
  }
  INFO(kv::test::read_file(dir.sub("redis.log")));
  REQUIRE(ready);
  check_clean_run(dir, {"--target", "redis", "--nodes", "127.0.0.1:" + port, "--workload", "A"});
}

TEST_CASE("kvbench completes a smoke run against etcd through its JSON gateway",
          "[integration][kvbench]") {
  auto server = on_path("etcd");
  if (server.empty())
    FAIL("etcd is not installed; scripts/setup.sh installs it (package etcd-server)");
  kv::test::temp_dir dir;
  etcd_member etcd{server, dir};
  INFO(kv::test::read_file(dir.sub("etcd.log")));
  REQUIRE(etcd.await_healthy(15s));
  SECTION("workload A, linearizable reads") {
    auto [run, doc] =
        check_clean_run(dir, {"--target", "etcd", "--nodes", etcd.address(), "--workload", "A"});
    CHECK(printed(run, "etcd v3 JSON gateway over HTTP/1.1 (kvbench's own client)"));
    CHECK(printed(run, etcd.address() + " (leader)"));
    CHECK(doc["load"]["ops"].text == "1000");
    CHECK(std::stoull(doc["read"]["ops"].text) > 0);
  }
  SECTION("workload W, loaded at 8 in flight and run at 2") {
    auto [run, doc] =
        check_clean_run(dir, {"--target", "etcd", "--nodes", etcd.address(), "--workload", "W",
                              "--load-concurrency", "8", "--concurrency", "2"});
    CHECK(doc["read"]["ops"].text == "0");
    CHECK(doc["config"]["load_concurrency"].text == "8");
    CHECK(doc["load"]["error_count"].text == "0");
  }
  etcd.proc->kill_now();
}

TEST_CASE("kvbench drives its own echo server, the loopback floor", "[integration][kvbench]") {
  kv::test::temp_dir dir;
  process echo{kvbench_path(), {"--serve-echo", "127.0.0.1:0"}, dir.sub("echo.log")};
  auto ready = echo.wait_for_line("ready echo ", 10s);
  INFO(kv::test::read_file(dir.sub("echo.log")));
  REQUIRE(ready);
  auto address = ready->substr(std::string{"ready echo "}.size());
  auto [r, doc] = check_clean_run(dir, {"--target", "echo", "--nodes", address, "--workload", "A",
                                        "--cpu-pids", std::to_string(echo.pid())});
  INFO(r.describe());
  CHECK(doc["cpu"]["processes"].text == "1");
  CHECK(doc["cpu"]["unreadable"].items.empty());
  CHECK(printed(r, "in 1 process, kvbench "));
  REQUIRE(echo.signal(SIGTERM));
  CHECK(echo.wait_exit(5s) == 0);
}

TEST_CASE("kvbench exits 3 when the target is unreachable and 2 on bad flags",
          "[integration][kvbench]") {
  kv::test::temp_dir dir;
  auto nobody = "127.0.0.1:" + std::to_string(kv::test::free_port());
  for (auto tgt : {"ringkv", "redis", "etcd"}) {
    auto r = run_kvbench(dir, {"--target", tgt, "--nodes", nobody, "--smoke"}, 15s);
    INFO(r.describe());
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("UNAVAILABLE") != std::string::npos);
  }
  for (std::vector<std::string> bad : {std::vector<std::string>{"--workload", "D"},
                                       {"--key-size", "3"},
                                       {"--nodes", "nowhere"},
                                       {"--load", "--no-load"},
                                       {"--concurrency", "0"},
                                       {"--load-concurrency", "0"},
                                       {"--target", "etcd", "--w", "2"},
                                       {"--cpu-pids", "0"}}) {
    auto r = run_kvbench(dir, bad, 10s);
    INFO(r.describe());
    CHECK(r.exit_code == 2);
  }
}
