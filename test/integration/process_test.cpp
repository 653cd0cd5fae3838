// The process harness itself (test/support/process.hpp): what the other integration tests rely
// on to never hang and never leave a process behind.
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace std::chrono_literals;
using kv::test::process;

namespace {

// True while `pid` is still a child of ours, running or not yet reaped.
bool still_our_child(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

}  // namespace

TEST_CASE("a process is killed and reaped when its object goes away, even by an exception",
          "[integration][harness]") {
  pid_t pid = -1;
  try {
    process sleeper{"/bin/sleep", {"30"}};
    pid = sleeper.pid();
    REQUIRE(sleeper.running());
    throw std::runtime_error("a failing test");
  } catch (const std::runtime_error&) {
    // unwound as a failing REQUIRE would unwind
  }
  REQUIRE(pid > 0);
  CHECK_FALSE(still_our_child(pid));
  CHECK(::kill(pid, 0) == -1);
  CHECK(errno == ESRCH);
}

TEST_CASE("wait_for_line finds a line by prefix and gives up at its deadline",
          "[integration][harness]") {
  process talker{"/bin/sh", {"-c", "echo starting; echo 'ready n1 here'; exec sleep 30"}};
  auto line = talker.wait_for_line("ready ", 5000ms);
  REQUIRE(line.has_value());
  CHECK(*line == "ready n1 here");
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(talker.wait_for_line("never ", 200ms).has_value());
  CHECK(std::chrono::steady_clock::now() - start < 1000ms);
  CHECK(talker.lines().size() == 2);
}

TEST_CASE("wait_exit reports exit codes, and signals as 128 plus the signal number",
          "[integration][harness]") {
  process exits{"/bin/sh", {"-c", "exit 7"}};
  CHECK(exits.wait_exit(5000ms) == 7);
  process sleeper{"/bin/sleep", {"30"}};
  CHECK_FALSE(sleeper.wait_exit(100ms).has_value());
  REQUIRE(sleeper.signal(SIGTERM));
  CHECK(sleeper.wait_exit(5000ms) == 128 + SIGTERM);
  CHECK_FALSE(sleeper.signal(SIGTERM));  // reaped: the PID is no longer ours to signal
}

TEST_CASE("a node that never gets ready fails with its log", "[integration][harness]") {
  kv::test::temp_dir dir;
  try {
    kv::test::node broken{dir.str(), {"--partitions", "3"}};
    FAIL("kvnode started with an invalid partition count");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("printed no ready line") &&
                             Catch::Contains("exited with 2") && Catch::Contains("power of two"));
  }
}
