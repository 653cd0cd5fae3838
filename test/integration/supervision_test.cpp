// Supervision seen from outside a real kvnode: actors made to fail on purpose (the admin
// fail-actor request) while clients stream requests, and the restart-intensity limit that
// turns a sick node into a process exit.
#include <atomic>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "client/blocking_client.hpp"
#include "messages/client.pb.h"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::errc;
using kv::client::blocking_client;
using kv::test::node;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

milliseconds since(steady::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady::now() - start);
}

// What one streaming thread saw.
struct stream_log {
  std::map<std::string, std::string> acked;    // key -> value, acknowledged puts
  std::map<std::string, std::string> unknown;  // key -> value, failed puts (outcome unknown)
  std::map<errc, size_t> errors;               // by code, puts and gets together
  std::map<errc, std::string> first_error;     // the first message seen for each code
  size_t ok_puts = 0;
  size_t ok_gets = 0;
  milliseconds slowest{0};
  std::vector<std::string> violations;
};

constexpr auto request_timeout = 2000ms;
constexpr auto client_grace = 1000ms;  // client_config's default
// A call may take its timeout plus the client's grace; the rest is scheduling slack.
constexpr auto call_bound = request_timeout + client_grace + 500ms;

// Puts fresh keys and reads back keys it wrote, until `stop`.
void stream(int t, const node& n, const std::atomic<bool>& stop, stream_log& out) {
  blocking_client db{kv::test::client_config_for(n)};
  kv::client::request_options opts;
  opts.timeout = request_timeout;
  std::mt19937 rng(static_cast<unsigned>(t));
  std::vector<std::string> written;
  auto timed = [&](auto call) {
    auto start = steady::now();
    auto r = call();
    auto took = since(start);
    out.slowest = std::max(out.slowest, took);
    if (took > call_bound)
      out.violations.push_back("a call took " + std::to_string(took.count()) + " ms");
    if (!r && out.errors[r.error().code]++ == 0)
      out.first_error[r.error().code] = r.error().describe();
    return r;
  };
  for (int seq = 0; !stop; ++seq) {
    auto key = "s-" + std::to_string(t) + "-" + std::to_string(seq);
    auto value = "v" + std::to_string(t) + "-" + std::to_string(seq);
    if (timed([&] { return db.put(key, value, opts); })) {
      out.acked[key] = value;
      written.push_back(key);
      ++out.ok_puts;
    } else {
      out.unknown[key] = value;
    }
    if (written.empty()) continue;
    auto& probe = written[rng() % written.size()];
    auto got = timed([&] { return db.get(probe, opts); });
    if (!got) continue;
    ++out.ok_gets;
    if (got->siblings.size() != 1 || got->siblings[0].value != out.acked[probe])
      out.violations.push_back("get " + probe + " did not return its acknowledged value");
  }
}

struct chaos_log {
  size_t failed_on_purpose = 0;  // fail_actor requests the node accepted
  std::map<std::string, size_t> by_role;
  std::map<errc, size_t> refused;
};

struct chaos_plan {
  milliseconds length;
  milliseconds min_pause, max_pause;  // between two failures
  bool coordinator = true;  // every third failure hits the coordinator, every sixth the node actor
};

// Makes a replica (or the coordinator, or the node actor) fail every min_pause..max_pause for
// the plan's length.
void chaos(const node& n, chaos_plan plan, chaos_log& out) {
  blocking_client admin{kv::test::client_config_for(n)};
  std::mt19937 rng(7);
  auto end = steady::now() + plan.length;
  auto spread = static_cast<unsigned>((plan.max_pause - plan.min_pause).count() + 1);
  for (int i = 0; steady::now() < end; ++i) {
    auto role = !plan.coordinator ? "replica." + std::to_string(rng() % 8)
                : i % 6 == 5      ? std::string{"node"}
                : i % 3 == 2      ? std::string{"coordinator"}
                                  : "replica." + std::to_string(rng() % 8);
    auto r = admin.fail_actor(role, "integration test chaos");
    if (r) {
      ++out.failed_on_purpose;
      ++out.by_role[role];
    } else {
      ++out.refused[r.error().code];
    }
    std::this_thread::sleep_for(plan.min_pause + milliseconds{rng() % spread});
  }
}

std::string describe(const std::map<errc, size_t>& by_code) {
  std::string result;
  for (auto& [code, n] : by_code)
    result +=
        (result.empty() ? "" : ", ") + std::string{kv::to_string(code)} + "=" + std::to_string(n);
  return result.empty() ? "none" : result;
}

std::string read_back(blocking_client& db, const std::string& key, const std::string& value,
                      bool must_exist) {
  auto got = db.get(key);
  if (!got) return key + ": get failed: " + got.error().describe();
  auto& s = got->siblings;
  if (s.empty() && !must_exist) return "";
  if (s.size() == 1 && !s[0].deleted && s[0].value == value) return "";
  return key + ": does not hold exactly " + value + " (" + std::to_string(s.size()) + " siblings)";
}

void store_keys(blocking_client& db, const std::string& prefix, int count) {
  for (int i = 0; i < count; ++i) {
    auto r = db.put(prefix + std::to_string(i), "value-" + std::to_string(i));
    REQUIRE(r);
  }
}

void check_keys(blocking_client& db, const std::string& prefix, int count) {
  for (int i = 0; i < count; ++i) {
    auto v = read_back(db, prefix + std::to_string(i), "value-" + std::to_string(i), true);
    INFO(v);
    CHECK(v.empty());
  }
}

// Streams requests from `streams` threads while `plan` makes actors fail, then merges what the
// threads saw and prints it.
std::pair<stream_log, chaos_log> stream_under_chaos(const node& n, int streams, chaos_plan plan) {
  std::atomic<bool> stop{false};
  std::vector<stream_log> logs(streams);
  std::vector<std::thread> threads;
  for (int t = 0; t < streams; ++t)
    threads.emplace_back(stream, t, std::cref(n), std::cref(stop), std::ref(logs[t]));
  chaos_log chaos_seen;
  std::thread chaos_thread{chaos, std::cref(n), plan, std::ref(chaos_seen)};
  chaos_thread.join();
  std::this_thread::sleep_for(300ms);  // the streams run on past the last failure
  stop = true;
  for (auto& t : threads) t.join();

  stream_log all;
  for (auto& l : logs) {
    all.acked.insert(l.acked.begin(), l.acked.end());
    all.unknown.insert(l.unknown.begin(), l.unknown.end());
    for (auto& [code, count] : l.errors) all.errors[code] += count;
    all.first_error.insert(l.first_error.begin(), l.first_error.end());
    all.ok_puts += l.ok_puts;
    all.ok_gets += l.ok_gets;
    all.slowest = std::max(all.slowest, l.slowest);
    all.violations.insert(all.violations.end(), l.violations.begin(), l.violations.end());
  }
  std::cout << "actor failures during a stream: " << chaos_seen.failed_on_purpose
            << " actors failed on purpose (refused: " << describe(chaos_seen.refused) << "); "
            << all.ok_puts << " puts and " << all.ok_gets
            << " gets succeeded; errors: " << describe(all.errors) << "; slowest call "
            << all.slowest.count() << " ms\n";
  for (auto& [code, text] : all.first_error) std::cout << "  first " << text << "\n";
  return {std::move(all), std::move(chaos_seen)};
}

void check_error_codes(const stream_log& all) {
  for (auto& [code, count] : all.errors) {
    INFO(kv::to_string(code) << " x" << count << ", the first: " << all.first_error.at(code));
    CHECK((code == errc::unavailable || code == errc::timeout));
  }
}

}  // namespace

TEST_CASE(
    "requests streamed while replicas, the coordinator and the node actor keep failing all "
    "complete in time, "
    "with UNAVAILABLE or TIMEOUT at worst, and lose no acknowledged write",
    "[integration][supervision]") {
  kv::test::temp_dir dir;
  node n{dir.str(), {"--chaos", "--max-restarts", "1000"}};
  auto [all, chaos_seen] = stream_under_chaos(n, 3, {4000ms, 50ms, 200ms, true});

  for (auto& v : all.violations) UNSCOPED_INFO(v);
  CHECK(all.violations.empty());
  CHECK(chaos_seen.failed_on_purpose >= 15);
  CHECK(chaos_seen.by_role.count("coordinator") == 1);
  CHECK(chaos_seen.by_role.count("node") == 1);
  check_error_codes(all);
  CHECK(all.ok_puts > 100);

  blocking_client db{kv::test::client_config_for(n)};
  REQUIRE(db.put("after-chaos", "still-serving"));
  CHECK(read_back(db, "after-chaos", "still-serving", true).empty());
  size_t lost = 0, bad_unknown = 0;
  for (auto& [key, value] : all.acked) {
    auto v = read_back(db, key, value, true);
    if (!v.empty() && lost++ < 10) UNSCOPED_INFO("acknowledged write lost: " << v);
  }
  for (auto& [key, value] : all.unknown) {
    auto v = read_back(db, key, value, false);
    if (!v.empty() && bad_unknown++ < 10) UNSCOPED_INFO("failed write read back wrong: " << v);
  }
  CHECK(lost == 0);
  CHECK(bad_unknown == 0);

  auto status = db.status();
  REQUIRE(status);
  uint64_t restarts = 0;
  std::string per_role;
  for (auto& a : status->actors()) {
    restarts += a.restarts();
    per_role += " " + a.role() + "=" + std::to_string(a.restarts());
    CHECK(a.running());
  }
  std::cout << "restarts reported by status: " << restarts << " (" << per_role << " )\n";
  CHECK(restarts == chaos_seen.failed_on_purpose);
  auto text = kv::test::run_kvctl({"--node", n.address(), "status"});
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains(std::to_string(restarts) + " restarts"));
  CHECK(n.proc().running());
}

// A replica stages writes, then commits them in its next message; a failure in between fails
// the staged writes. Frequent replica failures under a write-heavy stream hit that window (with
// --sync none the commits are short, so the window is a larger share of the replica's time).
TEST_CASE(
    "writes staged on a replica that fails before its commit are answered UNAVAILABLE, "
    "not INTERNAL",
    "[integration][supervision]") {
  kv::test::temp_dir dir;
  node n{dir.str(), {"--chaos", "--max-restarts", "100000", "--sync", "none"}};
  auto [all, chaos_seen] = stream_under_chaos(n, 8, {4000ms, 0ms, 2ms, false});
  CHECK(all.violations.empty());
  CHECK(chaos_seen.failed_on_purpose >= 200);
  check_error_codes(all);
  CHECK(n.proc().running());
}

TEST_CASE(
    "more actor restarts than --max-restarts within the window make kvnode exit with code 3, "
    "and a restart on the same data finds it intact",
    "[integration][supervision]") {
  kv::test::temp_dir dir;
  node n{dir.str(), {"--chaos", "--max-restarts", "3", "--restart-window-ms", "10000",
                    "--replicas", "8"}};
  {
    blocking_client db{kv::test::client_config_for(n)};
    store_keys(db, "kept-", 50);
    // Three restarts are within the limit; the fourth failure makes the node sick. Its reply
    // may be lost with the node, so it is not checked.
    for (auto role : {"replica.0", "replica.5", "coordinator"}) REQUIRE(db.fail_actor(role));
    static_cast<void>(db.fail_actor("replica.3"));
  }
  auto start = steady::now();
  auto code = n.proc().wait_exit(5000ms);
  REQUIRE(code.has_value());
  std::cout << "restart intensity: kvnode exited with " << *code << " after "
            << since(start).count() << " ms\n";
  CHECK(*code == 3);
  CHECK_THAT(n.log(), Catch::Contains("restart intensity exceeded"));

  n.restart();
  blocking_client db{kv::test::client_config_for(n)};
  check_keys(db, "kept-", 50);
}
