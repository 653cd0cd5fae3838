#include <catch2/catch.hpp>

#include "cluster/failure_detector.hpp"

using namespace kv::cluster;
using namespace std::chrono_literals;

namespace {

// A member heard every `interval` from t0 for `beats` beats; returns the time of the last.
failure_detector::time_point beat(failure_detector& fd, const std::string& id,
                                  failure_detector::time_point t0,
                                  std::chrono::milliseconds interval, int beats) {
  auto t = t0;
  for (int i = 0; i < beats; ++i, t += interval) fd.heard(id, t);
  return t - interval;
}

}  // namespace

TEST_CASE("a member heard regularly is alive", "[detector]") {
  failure_detector fd;
  auto t0 = failure_detector::clock::now();
  auto last = beat(fd, "n2", t0, 200ms, 50);
  CHECK(fd.judge("n2", last + 1000ms) == verdict::alive);
  CHECK(fd.suspects(last + 1000ms).empty());
  CHECK(fd.silent_ms("n2", last + 1000ms) == 1000);
  CHECK(fd.silent_ms("n9", last) == -1);
}

TEST_CASE("silence makes a suspect, and a second source or phi makes it down", "[detector]") {
  failure_detector fd;  // suspect after 2 s, phi threshold 8
  auto t0 = failure_detector::clock::now();
  auto last = beat(fd, "n2", t0, 200ms, 50);
  beat(fd, "n3", t0, 200ms, 50);
  CHECK(fd.judge("n2", last + 2100ms) == verdict::suspect);
  CHECK(fd.suspects(last + 2100ms) == std::vector<std::string>{"n2", "n3"});
  // Phi alone: 200 ms mean interval, phi 8 after 8 / log10(e) * 200 ms = 3.68 s.
  CHECK(fd.phi("n2", last + 3600ms) < 8);
  CHECK(fd.phi("n2", last + 3700ms) >= 8);
  CHECK(fd.judge("n2", last + 3700ms) == verdict::down);
  // Another member agreeing is enough before that.
  fd.reported("n3", {"n2"}, last + 2100ms);
  CHECK(fd.judge("n2", last + 2100ms) == verdict::down);
}

TEST_CASE("the suspect's own word and stale reports do not count as agreement", "[detector]") {
  failure_detector fd;
  auto t0 = failure_detector::clock::now();
  auto last = beat(fd, "n2", t0, 200ms, 50);
  fd.reported("n2", {"n2"}, last + 2100ms);
  CHECK(fd.judge("n2", last + 2100ms) == verdict::suspect);
  fd.reported("n3", {"n2"}, last);  // n3 reported long ago and went quiet
  CHECK(fd.judge("n2", last + 2500ms) == verdict::suspect);
}

TEST_CASE("another's suspicion alone does not take a member down", "[detector]") {
  failure_detector fd;
  auto t0 = failure_detector::clock::now();
  auto last = beat(fd, "n2", t0, 200ms, 50);
  fd.reported("n3", {"n2"}, last + 100ms);
  CHECK(fd.judge("n2", last + 100ms) == verdict::alive);
}

TEST_CASE("a lost connection suspects at once, and hearing the member clears it", "[detector]") {
  failure_detector fd;
  auto t0 = failure_detector::clock::now();
  auto last = beat(fd, "n2", t0, 200ms, 10);
  fd.connection_lost("n2");
  CHECK(fd.judge("n2", last + 10ms) == verdict::suspect);
  fd.reported("n3", {"n2"}, last + 20ms);
  CHECK(fd.judge("n2", last + 20ms) == verdict::down);
  fd.heard("n2", last + 30ms);  // it speaks: up again, and n3's old word no longer counts
  CHECK(fd.judge("n2", last + 30ms) == verdict::alive);
  CHECK(fd.judge("n2", last + 2100ms) == verdict::suspect);
}

TEST_CASE("phi follows the observed interval, not only the floor", "[detector]") {
  failure_detector fd;
  auto t0 = failure_detector::clock::now();
  auto slow = beat(fd, "slow", t0, 1000ms, 30);
  auto fast = beat(fd, "fast", t0, 200ms, 150);
  // Same silence, a fifth of the phi for the member that beats five times slower.
  CHECK(fd.phi("slow", slow + 2000ms) == Approx(fd.phi("fast", fast + 2000ms) / 5).epsilon(0.01));
  fd.forget("slow");
  CHECK(fd.phi("slow", slow + 2000ms) == 0);
}
