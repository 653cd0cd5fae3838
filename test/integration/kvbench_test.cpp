// kvbench in smoke mode against every target it drives: a single kvnode, a three-node cluster
// with R=W=2, redis-server (which scripts/setup.sh installs: its absence fails the test) and
// kvbench's own echo server. Each run takes a few seconds and must complete with zero errors,
// a table with read, update and total rows, and JSON with a positive throughput. Every process
// is killed by PID when its test ends.
#include <unistd.h>

#include <csignal>
#include <cstdlib>
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

// The checks every smoke run must pass.
void check_clean_run(const kv::test::temp_dir& dir, std::vector<std::string> args) {
  auto json_path = dir.sub("bench.json");
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
  CHECK(doc["config"]["concurrency"].text == "32");
}

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

TEST_CASE("kvbench completes a smoke run against three nodes with R=W=2",
          "[integration][kvbench]") {
  kv::test::temp_dir dir;
  kv::test::cluster c{dir.str(), 3};
  check_clean_run(dir, {"--nodes", c.seeds(), "--workload", "A", "--w", "2", "--r", "2"});
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

TEST_CASE("kvbench drives its own echo server, the loopback floor", "[integration][kvbench]") {
  kv::test::temp_dir dir;
  process echo{kvbench_path(), {"--serve-echo", "127.0.0.1:0"}, dir.sub("echo.log")};
  auto ready = echo.wait_for_line("ready echo ", 10s);
  INFO(kv::test::read_file(dir.sub("echo.log")));
  REQUIRE(ready);
  auto address = ready->substr(std::string{"ready echo "}.size());
  check_clean_run(dir, {"--target", "echo", "--nodes", address, "--workload", "A"});
  REQUIRE(echo.signal(SIGTERM));
  CHECK(echo.wait_exit(5s) == 0);
}

TEST_CASE("kvbench exits 3 when the target is unreachable and 2 on bad flags",
          "[integration][kvbench]") {
  kv::test::temp_dir dir;
  auto nobody = "127.0.0.1:" + std::to_string(kv::test::free_port());
  for (auto tgt : {"ringkv", "redis"}) {
    auto r = run_kvbench(dir, {"--target", tgt, "--nodes", nobody, "--smoke"}, 15s);
    INFO(r.describe());
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("UNAVAILABLE") != std::string::npos);
  }
  for (std::vector<std::string> bad : {std::vector<std::string>{"--workload", "D"},
                                       {"--key-size", "3"},
                                       {"--nodes", "nowhere"},
                                       {"--load", "--no-load"},
                                       {"--concurrency", "0"}}) {
    auto r = run_kvbench(dir, bad, 10s);
    INFO(r.describe());
    CHECK(r.exit_code == 2);
  }
}
