// kvctl against a real kvnode: bad input is refused with exit 2 and the error code name first on
// stderr, without touching stored data; an address that does not answer makes kvctl give up
// within its deadline instead of hanging.
#include <csignal>
#include <fstream>
#include <iostream>

#include <catch2/catch.hpp>

#include "test/support/mute_listener.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::test::cli_result;
using kv::test::mute_listener;
using kv::test::node;
using kv::test::run_kvctl;
using std::chrono::milliseconds;

std::vector<std::string> with_node(const node& n, std::vector<std::string> args) {
  args.insert(args.begin(), {"--node", n.address()});
  return args;
}

std::string describe(const cli_result& r) {
  return "exit " + std::to_string(r.exit_code) + " after " + std::to_string(r.elapsed.count()) +
         " ms; stdout: " + r.out + "; stderr: " + r.err;
}

void write_file(const std::string& path, size_t bytes) {
  std::ofstream out{path, std::ios::binary};
  out << std::string(bytes, 'v');
}


}  // namespace

TEST_CASE(
    "kvctl refuses bad input with exit 2 and the error code first on stderr, "
    "leaving stored data intact",
    "[integration][kvctl]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  for (int i = 0; i < 5; ++i)
    REQUIRE(run_kvctl(with_node(n, {"put", "keep-" + std::to_string(i), "kept"})).exit_code == 0);
  auto big_value = dir.sub("value-over-1MiB");
  write_file(big_value, (size_t{1} << 20) + 1);

  struct bad_call {
    const char* what;
    std::vector<std::string> args;
    const char* code;
  };
  std::vector<bad_call> calls = {
      {"an empty key", {"put", "", "v"}, "INVALID_ARGUMENT"},
      {"a key over 1 KiB", {"put", std::string(1025, 'k'), "v"}, "TOO_LARGE"},
      {"a value over 1 MiB", {"put", "victim", "--file", big_value}, "TOO_LARGE"},
      {"--r greater than n", {"get", "keep-0", "--r", "2"}, "INVALID_ARGUMENT"},
      {"--w greater than n", {"put", "victim", "v", "--w", "2"}, "INVALID_ARGUMENT"},
      {"--n greater than the namespace's n",
       {"put", "victim", "v", "--n", "3"},
       "INVALID_ARGUMENT"},
      {"an unknown namespace (get)", {"get", "keep-0", "--ns", "no-such-ns"}, "INVALID_ARGUMENT"},
      {"an unknown namespace (put)",
       {"put", "victim", "v", "--ns", "no-such-ns"},
       "INVALID_ARGUMENT"},
      {"an unknown level", {"get", "keep-0", "--level", "sometimes"}, "INVALID_ARGUMENT"},
      {"a malformed context token",
       {"put", "victim", "v", "--context", "!!not*a*token"},
       "INVALID_ARGUMENT"},
      {"a well-encoded token that is no context",
       {"put", "victim", "v", "--context", "AAECAwQFBgc"},
       "INVALID_ARGUMENT"},
      {"a malformed context token on del",
       {"del", "keep-0", "--context", "@@@@"},
       "INVALID_ARGUMENT"},
      {"--w and --level together",
       {"put", "victim", "v", "--w", "1", "--level", "one"},
       "INVALID_ARGUMENT"},
      {"--r and --level together",
       {"get", "keep-0", "--r", "1", "--level", "all"},
       "INVALID_ARGUMENT"},
      {"put without a value", {"put", "victim"}, "INVALID_ARGUMENT"},
      {"an unknown verb", {"frobnicate"}, "INVALID_ARGUMENT"},
  };
  for (auto& call : calls) {
    auto r = run_kvctl(with_node(n, call.args));
    INFO(call.what << ": " << describe(r));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.first_err_line(), Catch::StartsWith(std::string{call.code} + " "));
    CHECK(r.elapsed < 3000ms);
  }

  // Nothing was written by the refused requests, and what was stored is intact.
  auto victim = run_kvctl(with_node(n, {"get", "victim"}));
  CHECK(victim.exit_code == 1);
  for (int i = 0; i < 5; ++i) {
    auto r = run_kvctl(with_node(n, {"get", "keep-" + std::to_string(i), "--raw"}));
    INFO(describe(r));
    CHECK(r.exit_code == 0);
    CHECK(r.out == "kept");
  }

  SECTION("the limits themselves are accepted: a 1 KiB key and a 1 MiB value") {
    auto exact = dir.sub("value-1MiB");
    write_file(exact, size_t{1} << 20);
    auto key = run_kvctl(with_node(n, {"put", std::string(1024, 'k'), "v"}));
    INFO(describe(key));
    CHECK(key.exit_code == 0);
    auto value = run_kvctl(with_node(n, {"put", "big", "--file", exact}));
    INFO(describe(value));
    CHECK(value.exit_code == 0);
    auto back = run_kvctl(with_node(n, {"get", "big", "--raw"}));
    CHECK(back.exit_code == 0);
    CHECK(back.out.size() == size_t{1} << 20);
  }
}

TEST_CASE("kvctl exits 3 at once when nothing listens at the node's address",
          "[integration][kvctl]") {
  auto address = "127.0.0.1:" + std::to_string(kv::test::free_port());
  auto r = run_kvctl({"--node", address, "--timeout", "1000", "get", "k"});
  INFO(describe(r));
  std::cout << "kvctl against a closed port: exit " << r.exit_code << " after " << r.elapsed.count()
            << " ms: " << r.first_err_line() << "\n";
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.first_err_line(), Catch::StartsWith("UNAVAILABLE "));
  CHECK(r.elapsed < 1500ms);
}

TEST_CASE("kvctl gives up with UNAVAILABLE within about 2 s on an address that never speaks",
          "[integration][kvctl]") {
  bool accepting = GENERATE(false, true);
  mute_listener mute{accepting};
  auto r = run_kvctl({"--node", mute.address(), "--timeout", "1000", "get", "k"}, 10000ms);
  INFO((accepting ? "accepting" : "never accepting") << ": " << describe(r));
  std::cout << "kvctl against a mute listener (" << (accepting ? "accepting" : "never accepting")
            << "): exit " << r.exit_code << " after " << r.elapsed.count()
            << " ms: " << r.first_err_line() << "\n";
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.first_err_line(),
             Catch::StartsWith("UNAVAILABLE ") && Catch::Contains("cannot reach"));
  CHECK(r.elapsed < 2500ms);
  if (accepting) CHECK(mute.accepted() >= 1);
}

TEST_CASE("kvctl retries a port that accepts and hangs up with a pause, not in a tight loop",
          "[integration][kvctl]") {
  mute_listener rude{true, true};
  auto r = run_kvctl({"--node", rude.address(), "--timeout", "1000", "get", "k"}, 10000ms);
  INFO(describe(r));
  std::cout << "kvctl against a port that hangs up: exit " << r.exit_code << " after "
            << r.elapsed.count() << " ms, " << rude.accepted() << " connection attempts\n";
  CHECK(r.exit_code == 3);
  CHECK(rude.accepted() >= 1);
  CHECK(rude.accepted() <= 20);  // one attempt per 100 ms at most
}

TEST_CASE("a value too large for one message is TOO_LARGE at the client, exit 2",
          "[integration][kvctl]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  auto big = dir.sub("five-megabytes");
  write_file(big, 5 << 20);
  auto r = run_kvctl(with_node(n, {"put", "big", "--file", big}));
  INFO(describe(r));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.first_err_line(), Catch::StartsWith("TOO_LARGE "));
  CHECK(run_kvctl(with_node(n, {"put", "small", "v"})).exit_code == 0);
}

TEST_CASE(
    "kvctl gives up within about 2 s on a SIGSTOPped kvnode, which serves again after SIGCONT",
    "[integration][kvctl]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  REQUIRE(run_kvctl(with_node(n, {"put", "frozen", "thawed"})).exit_code == 0);
  REQUIRE(n.proc().freeze());
  auto r = run_kvctl(with_node(n, {"--timeout", "1000", "get", "frozen"}), 10000ms);
  REQUIRE(n.proc().signal(SIGCONT));
  INFO(describe(r));
  std::cout << "kvctl against a stopped kvnode: exit " << r.exit_code << " after "
            << r.elapsed.count() << " ms: " << r.first_err_line() << "\n";
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code != 0);
  CHECK((r.exit_code == 3 || r.exit_code == 4));
  CHECK(r.elapsed < 2500ms);

  auto after = run_kvctl(with_node(n, {"--timeout", "2000", "get", "frozen", "--raw"}));
  INFO("after SIGCONT: " << describe(after));
  CHECK(after.exit_code == 0);
  CHECK(after.out == "thawed");
}
