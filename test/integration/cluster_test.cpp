// A three-node cluster of real kvnode processes on loopback, n=3 (every node holds every key):
// writes through one node are read through the others and explained per replica; a replica
// that was down while a write happened catches up by read repair; quorums R=W=2 read what was
// acknowledged under concurrent clients; concurrent blind writes become siblings and a write
// with their context resolves them; LWW namespaces keep one value.
// Every wait is bounded; every node is killed by PID when its test ends (process.hpp).
#include <atomic>
#include <csignal>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include <fstream>

#include "client/blocking_client.hpp"
#include "messages/client.pb.h"
#include "storage/codec.hpp"
#include "test/integration/cluster_support.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv::test::cluster_support;

TEST_CASE("a write through one node is read through every other, and all three replicas hold it",
          "[integration][cluster]") {
  kv::test::temp_dir dir;
  cluster c{dir.str(), 3};

  auto put = kvctl(c[0], {"put", "greeting", "hello from n1"});
  INFO(describe(put));
  REQUIRE(put.exit_code == 0);
  for (size_t i = 1; i < 3; ++i) {
    auto got = kvctl(c[i], {"get", "greeting", "--r", "1"});
    INFO(c[i].id() << ": " << describe(got));
    CHECK(got.exit_code == 0);
    CHECK(got.out.rfind("hello from n1\ncontext: ", 0) == 0);
  }

  // W=2 acknowledged, the third replica may still be writing: wait until it holds the value.
  std::vector<replica_view> views;
  auto converged =
      wait_until(3s, [&] { return all_hold(views = explain(c[1], "greeting"), "hello from n1"); });
  CHECK(converged);
  std::set<std::string> ids;
  for (auto& v : views) ids.insert(v.id);
  CHECK(ids == std::set<std::string>{"n1", "n2", "n3"});
  for (auto& v : views) {
    INFO(v.id);
    CHECK(v.state == "up");
    CHECK(v.version_vector.size() == 1);
  }

  auto text = kvctl(c[2], {"explain", "greeting"});
  INFO(describe(text));
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("partition ") != std::string::npos);
  for (auto& id : {"n1", "n2", "n3"}) {
    std::regex line{std::string{"(^|\n)"} + id +
                    " +127\\.0\\.0\\.1:[0-9]+ +up +hello from n1  \\[n1\\.[a-z0-9]+:1\\]\n"};
    CHECK(std::regex_search(text.out, line));
  }

  auto ring = kvctl(c[0], {"ring"});
  INFO(describe(ring));
  REQUIRE(ring.exit_code == 0);
  CHECK(ring.out.find("256 partitions, 3 members, replicas counted with n=3") != std::string::npos);
  CHECK(ring.out.find("balance: the most loaded member holds 1.00x") != std::string::npos);
  auto ring_doc = parse_json(kvctl(c[0], {"--json", "ring"}));
  REQUIRE(ring_doc["members"].items.size() == 3);
  for (auto& m : ring_doc["members"].items) {
    INFO(m["id"].text);
    CHECK(m["replicas"].text == "256");
  }
  CHECK(std::stod(ring_doc["max_over_mean"].text) == Approx(1.0));

  for (size_t i = 0; i < 3; ++i) {
    INFO("status through " << c[i].id());
    CHECK(member_states(c[i]) == all_up);
    auto status = kvctl(c[i], {"status"});
    REQUIRE(status.exit_code == 0);
    for (size_t j = 0; j < 3; ++j) {
      std::regex line{"(^|\n)" + c[j].id() + " +" + c[j].peer_address() + " +up "};
      CHECK(std::regex_search(status.out, line));
    }
  }
}

TEST_CASE("a replica that was down during a W=2 write catches up by read repair once it is back",
          "[integration][cluster]") {
  kv::test::temp_dir dir;
  // Anti-entropy off: only the read may repair n3 here (anti_entropy_test.cpp tests it).
  std::string config = dir.str() + "/no-anti-entropy.toml";
  REQUIRE(static_cast<bool>(std::ofstream{config} << "anti_entropy = false\n"));
  cluster c{dir.str(), 3, {"--config", config}};
  const std::string key = "missed-by-n3", value = "written while n3 was down";
  const std::string r3_key = "read-at-r3", r3_value = "also written while n3 was down";

  c.kill("n3");
  auto put = kvctl(c[0], {"put", key, value, "--w", "2"});
  INFO(describe(put));
  REQUIRE(put.exit_code == 0);
  REQUIRE(kvctl(c[1], {"put", r3_key, r3_value, "--w", "2"}).exit_code == 0);
  auto views = explain(c[0], key);
  auto& dead = replica_of(views, "n3");
  CHECK(!dead.reachable);
  CHECK(dead.state == "down");
  CHECK(dead.error == "unreachable");
  CHECK(replica_of(views, "n1").holds_only(value));
  CHECK(replica_of(views, "n2").holds_only(value));

  auto restarted = steady::now();
  c.restart({"n3"});
  auto ready_after = since(restarted);
  // n3 prints ready once it is connected to both peers: a read through it can ask all three.
  auto r3 = kvctl(c[2], {"get", r3_key, "--r", "3"});
  INFO(describe(r3));
  CHECK(r3.exit_code == 0);
  CHECK(r3.out.rfind(r3_value + "\n", 0) == 0);

  // Its peers connect back as soon as it introduces itself (not at their next membership
  // tick): a read through a peer can ask all three within milliseconds.
  auto at_once = kvctl(c[0], {"get", r3_key, "--r", "3"});
  auto peer_serves_r3 = wait_until(2s, [&] {
    return kvctl(c[0], {"get", r3_key, "--r", "3"}).exit_code == 0;
  });
  REQUIRE(peer_serves_r3);
  CHECK(*peer_serves_r3 < 200ms);

  // Until a read repairs it, n3 holds nothing of what it missed.
  std::vector<replica_view> seen;
  auto reachable =
      wait_until(5s, [&] { return replica_of(seen = explain(c[0], key), "n3").reachable; });
  REQUIRE(reachable);
  CHECK(replica_of(seen, "n3").values.empty());
  auto read = kvctl(c[1], {"get", key, "--r", "2"});
  INFO(describe(read));
  CHECK(read.exit_code == 0);
  CHECK(read.out.rfind(value + "\n", 0) == 0);
  auto repaired = wait_until(3s, [&] { return all_hold(explain(c[0], key), value); });
  CHECK(repaired);
  std::cout << "read repair: n3 ready " << ready_after.count()
            << " ms after its restart; R=3 through n3 at once: exit " << r3.exit_code
            << "; through n1 at once: exit " << at_once.exit_code << " " << at_once.first_err_line()
            << ", served " << (peer_serves_r3 ? peer_serves_r3->count() : -1)
            << " ms later; all three replicas held the value "
            << (repaired ? repaired->count() : -1) << " ms after the R=2 read\n";
}

namespace {

constexpr int shared_keys = 3;

// What one read-your-writes client saw.
struct ryw_log {
  size_t blind_acked = 0;
  size_t updates_acked = 0;
  size_t reads = 0;
  size_t superseded = 0;  // reads of a shared key that showed a later update instead
  std::map<errc, size_t> failures;
  std::vector<std::string> violations;
};

// A read after an acknowledged write must cover it: the read's context descends the write's,
// and the value is there unless a later update (which had seen it) superseded it. Own keys
// are written once, blindly: they must hold exactly that value.
void check_read(const std::string& key, const std::string& value, const std::string& written,
                const kv::client::get_result& got, bool shared, ryw_log& out) {
  auto write_vv = kv::storage::decode_context(written);
  auto read_vv = kv::storage::decode_context(got.context);
  auto values = values_of(got);
  std::string held;
  for (auto& v : values) held += (held.empty() ? "" : ", ") + v;
  if (!write_vv || !read_vv)
    out.violations.push_back(key + ": a context does not decode");
  else if (!read_vv->descends(*write_vv))
    out.violations.push_back(key + ": the read {" + held + "} does not cover the acknowledged " +
                             value + " (" + to_string(*read_vv) + " vs " + to_string(*write_vv) +
                             ")");
  else if (!shared && values != std::set<std::string>{value})
    out.violations.push_back(key + ": holds {" + held + "}, expected exactly " + value);
  else if (shared && values.count(value) == 0)
    ++out.superseded;
}

// Thread t writes through node t % 3 and reads through node (t + 1) % 3, at quorum 2, until
// `end`: blind puts of fresh keys, and every fourth write a read-modify-write of a shared key.
void read_your_writes(int t, const cluster& c, steady::time_point end, ryw_log& out) {
  blocking_client writer{kv::test::client_config_for(c[t % 3])};
  blocking_client reader{kv::test::client_config_for(c[(t + 1) % 3])};
  for (int seq = 0; steady::now() < end; ++seq) {
    bool shared = seq % 4 == 3;
    auto key = shared ? "shared-" + std::to_string(seq / 4 % shared_keys)
                      : "own-" + std::to_string(t) + "-" + std::to_string(seq);
    auto value = "t" + std::to_string(t) + "-" + std::to_string(seq);
    std::string context;
    if (shared) {
      auto before = writer.get(key, reading(2));
      if (!before) {
        ++out.failures[before.error().code];
        continue;
      }
      context = before->context;
    }
    auto put = writer.put(key, value, writing(2), context);
    if (!put) {
      ++out.failures[put.error().code];
      continue;
    }
    ++(shared ? out.updates_acked : out.blind_acked);
    auto got = reader.get(key, reading(2));
    if (!got) {
      ++out.failures[got.error().code];
      out.violations.push_back(
          key + ": the read after an acknowledged write failed: " + got.error().describe());
      continue;
    }
    ++out.reads;
    check_read(key, value, *put, *got, shared, out);
  }
}

}  // namespace

TEST_CASE("at R=W=2 every read through another node returns what was acknowledged",
          "[integration][cluster]") {
  kv::test::temp_dir dir;
  cluster c{dir.str(), 3};
  constexpr int clients = 6;
  std::vector<ryw_log> logs(clients);
  std::vector<std::thread> threads;
  auto end = steady::now() + 4s;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back(read_your_writes, t, std::cref(c), end, std::ref(logs[t]));
  for (auto& th : threads) th.join();

  ryw_log all;
  for (auto& l : logs) {
    all.blind_acked += l.blind_acked;
    all.updates_acked += l.updates_acked;
    all.reads += l.reads;
    all.superseded += l.superseded;
    for (auto& [code, n] : l.failures) all.failures[code] += n;
    all.violations.insert(all.violations.end(), l.violations.begin(), l.violations.end());
  }
  size_t failed = 0;
  for (auto& [code, n] : all.failures) failed += n;
  std::cout << "read-your-writes at R=W=2 (" << clients << " clients, 4 s): " << all.blind_acked
            << " blind puts and " << all.updates_acked << " updates of " << shared_keys
            << " shared keys acknowledged, " << all.reads << " reads through another node ("
            << all.superseded << " showed a later update of a shared key), " << failed
            << " failed requests, " << all.violations.size() << " violations\n";
  for (size_t i = 0; i < all.violations.size() && i < 20; ++i) UNSCOPED_INFO(all.violations[i]);
  CHECK(all.violations.empty());
  CHECK(failed == 0);
  CHECK(all.blind_acked >= 100);
  CHECK(all.updates_acked >= 30);
}

namespace {

struct written_values {
  std::set<std::string> acked, failed;
};

// `writers` clients, each on node t % 3, put `each` blind values into `key` of `ns` at W=2, all
// starting together.
written_values write_concurrently(const cluster& c, const std::string& ns, const std::string& key,
                                  int writers, int each) {
  std::vector<std::vector<std::pair<std::string, bool>>> logs(writers);
  std::atomic<int> connected{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t)
    threads.emplace_back([&, t] {
      blocking_client db{kv::test::client_config_for(c[t % 3])};
      static_cast<void>(db.status());  // ignored: only connects before the start
      ++connected;
      while (!go) std::this_thread::yield();
      for (int i = 0; i < each; ++i) {
        auto value = "w" + std::to_string(t) + "-" + std::to_string(i);
        logs[t].emplace_back(value, static_cast<bool>(db.put(key, value, writing(2, 3000ms, ns))));
      }
    });
  // ignored: past the bound the writers start anyway, only less concurrently
  static_cast<void>(wait_until(10s, [&] { return connected == writers; }));
  go = true;
  for (auto& th : threads) th.join();
  written_values result;
  for (auto& l : logs)
    for (auto& [value, acked] : l) (acked ? result.acked : result.failed).insert(value);
  return result;
}

}  // namespace

TEST_CASE(
    "concurrent blind writes to one key through different nodes become siblings, none lost, "
    "and a write with their context resolves them on all three replicas",
    "[integration][cluster]") {
  kv::test::temp_dir dir;
  cluster c{dir.str(), 3};
  const std::string key = "contended";
  auto written = write_concurrently(c, "default", key, 6, 5);

  blocking_client db{kv::test::client_config_for(c[0])};
  auto got = db.get(key, reading(3));
  REQUIRE(got);
  auto values = values_of(*got);
  std::vector<std::string> lost, invented;
  for (auto& v : written.acked)
    if (values.count(v) == 0) lost.push_back(v);
  for (auto& v : values)
    if (written.acked.count(v) == 0 && written.failed.count(v) == 0) invented.push_back(v);
  std::cout << "siblings: " << written.acked.size() << " concurrent blind writes acknowledged ("
            << written.failed.size() << " failed), a get at R=3 returned " << values.size()
            << " siblings; lost " << lost.size() << ", never written " << invented.size() << "\n";
  CHECK(lost.empty());
  CHECK(invented.empty());
  CHECK(written.failed.empty());
  CHECK(values.size() == written.acked.size());

  // Through another node than the get: the context carries everything the get saw.
  blocking_client resolver{kv::test::client_config_for(c[1])};
  auto resolved = resolver.put(key, "resolved", writing(3), got->context);
  INFO((resolved ? "" : resolved.error().describe()));
  REQUIRE(resolved);
  auto views = explain(c[1], key);
  CHECK(all_hold(views, "resolved"));
  for (auto& v : views) {
    INFO(v.id << " holds " << v.values.size() << " siblings");
    CHECK(v.holds_only("resolved"));
  }
  blocking_client other{kv::test::client_config_for(c[2])};
  auto after = other.get(key, reading(2));
  REQUIRE(after);
  CHECK(values_of(*after) == std::set<std::string>{"resolved"});
}

TEST_CASE("in a last-write-wins namespace concurrent writes leave one value on every replica",
          "[integration][cluster]") {
  kv::test::temp_dir dir;
  cluster c{dir.str(), 3, {"--namespace", "cache:lww=true"}};
  auto written = write_concurrently(c, "cache", "hot", 6, 5);
  CHECK(written.failed.empty());

  blocking_client db{kv::test::client_config_for(c[0])};
  auto got = db.get("hot", reading(3, 3000ms, "cache"));
  REQUIRE(got);
  REQUIRE(got->siblings.size() == 1);
  auto winner = got->siblings[0].value;
  CHECK(written.acked.count(winner) == 1);
  auto repaired = wait_until(3s, [&] { return all_hold(explain(c[0], "hot", "cache"), winner); });
  CHECK(repaired);
  for (size_t i = 0; i < 3; ++i) {
    blocking_client via{kv::test::client_config_for(c[i])};
    auto seen = via.get("hot", reading(2, 3000ms, "cache"));
    REQUIRE(seen);
    CHECK(values_of(*seen) == std::set<std::string>{winner});
  }
  std::cout << "lww: " << written.acked.size() << " concurrent writes acknowledged, one value ("
            << winner << ") on every replica " << (repaired ? repaired->count() : -1)
            << " ms after the R=3 read\n";
}
