// Handoff with real processes: the cluster grows 3 -> 5 and shrinks back to 3 while a client
// writes and reads; a node that receives a transfer is killed and restarted mid-stream.
#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>

#include "test/integration/cluster_support.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv::test::cluster_support;

namespace {

struct transfers_view {
  int pending = 0, drops_pending = 0;
  uint64_t keys_sent = 0;
};

transfers_view transfers_of(const node& n) {
  auto doc = parse_json(kvctl(n, {"--json", "transfers"}));
  transfers_view v;
  v.pending = std::stoi(doc["pending"].text.empty() ? "-1" : doc["pending"].text);
  v.drops_pending = std::stoi(doc["drops_pending"].text.empty() ? "-1" : doc["drops_pending"].text);
  v.keys_sent = std::stoull(doc["keys_sent"].text.empty() ? "0" : doc["keys_sent"].text);
  return v;
}

// Waits until none of `nodes` has a transfer or a drop pending, twice in a row (a change that
// gossip is still spreading may plan more); returns the keys they sent, or nullopt at `bound`.
std::optional<uint64_t> handed_off(const std::vector<const node*>& nodes, milliseconds bound) {
  int quiet = 0;
  uint64_t sent = 0;
  auto done = wait_until(bound, [&] {
    sent = 0;
    bool idle = true;
    for (auto* n : nodes) {
      auto t = transfers_of(*n);
      idle = idle && t.pending == 0 && t.drops_pending == 0;
      sent += t.keys_sent;
    }
    quiet = idle ? quiet + 1 : 0;
    return quiet >= 3;
  });
  if (!done) {
    for (auto* n : nodes)
      std::cout << n->id() << ": " << kvctl(*n, {"transfers"}).out << "\n"
                << n->log().substr(n->log().size() > 3000 ? n->log().size() - 3000 : 0) << "\n";
    return std::nullopt;
  }
  return sent;
}

// A client that writes new keys at W=2 and reads back acknowledged ones at R=2 through n1..n3
// until stopped, recording what was acknowledged.
class traffic {
 public:
  explicit traffic(cluster& c) : c_(c), thread_([this] { run(); }) {}
  ~traffic() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::vector<std::string> acked() {
    std::lock_guard<std::mutex> lock{mutex_};
    return acked_;
  }
  size_t failed_writes = 0, reads = 0, read_misses = 0;

 private:
  void run() {
    std::vector<std::unique_ptr<blocking_client>> clients;
    for (size_t i = 0; i < 3; ++i)
      clients.push_back(std::make_unique<blocking_client>(kv::test::client_config_for(c_[i])));
    for (size_t i = 0; !stop_; ++i) {
      auto key = "t" + std::to_string(i);
      auto& db = *clients[i % 3];
      if (db.put(key, "value of " + key, writing(2))) {
        std::lock_guard<std::mutex> lock{mutex_};
        acked_.push_back(key);
      } else {
        ++failed_writes;
      }
      if (i % 2 == 0 && !acked_.empty()) {
        auto& probe = acked_[(i * 7919) % acked_.size()];
        auto got = clients[(i + 1) % 3]->get(probe, reading(2));
        ++reads;
        if (!got || got->siblings.empty()) ++read_misses;
      }
    }
  }

  cluster& c_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> acked_;
  std::thread thread_;
};

// Every acknowledged key reads back at R=2 through n1 (the count of those that do not).
size_t unreadable(const cluster& c, const std::vector<std::string>& keys) {
  blocking_client db{kv::test::client_config_for(c[0])};
  size_t missing = 0;
  for (auto& key : keys) {
    auto got = db.get(key, reading(2));
    if (!got || values_of(*got) != std::set<std::string>{"value of " + key}) ++missing;
  }
  return missing;
}

// For a sample of keys, every replica of the preference list holds the value; returns the
// number of keys where one does not.
size_t misplaced(const cluster& c, const std::vector<std::string>& keys, size_t sample) {
  size_t bad = 0;
  for (size_t i = 0; i < keys.size(); i += std::max<size_t>(1, keys.size() / sample))
    for (auto& v : explain(c[0], keys[i]))
      if (!v.holds_only("value of " + keys[i])) {
        ++bad;
        break;
      }
  return bad;
}

// Three nodes that hand off one key at a time (so a kill lands mid-stream), holding `count`
// keys written at W=3, and a fourth that joins through `seed`.
struct slow_join {
  kv::test::temp_dir dir;
  std::string config = dir.str() + "/slow-handoff.toml";
  bool written = static_cast<bool>(std::ofstream{config} << "handoff_batch_keys = 1\n");
  cluster c{dir.str(), 3, {"--sync", "none", "--config", config}};
  std::vector<std::string> keys;

  explicit slow_join(int count) {
    blocking_client db{kv::test::client_config_for(c[0])};
    for (int i = 0; i < count; ++i) {
      auto key = "k" + std::to_string(i);
      REQUIRE(db.put(key, "value of " + key, writing(3)));
      keys.push_back(key);
    }
  }

  std::unique_ptr<node> join(const node& seed) {
    return std::make_unique<node>(
        dir.str(),
        std::vector<std::string>{"--seeds", seed.peer_address(), "--sync", "none", "--config", config},
        "n4");
  }

  // Of a sample of the keys, how many n4 is a replica of, and how many of those it lacks.
  std::pair<size_t, size_t> n4_holds(size_t every) {
    size_t held = 0, missing = 0;
    for (size_t i = 0; i < keys.size(); i += every)
      for (auto& v : explain(c[0], keys[i])) {
        if (v.id != "n4") continue;
        ++held;
        if (!v.holds_only("value of " + keys[i])) ++missing;
      }
    return {held, missing};
  }
};

}  // namespace

TEST_CASE(
    "the cluster grows 3 -> 5 and shrinks back under W=2 writes and R=2 reads, and every "
    "acknowledged write stays readable and sits on its new preference list",
    "[integration][handoff]") {
  kv::test::temp_dir dir;
  cluster c{dir.str(), 3};
  traffic t{c};
  std::this_thread::sleep_for(2s);  // some data before anyone joins

  auto grow_at = steady::now();
  node n4{dir.str(), std::vector<std::string>{"--seeds", c[0].peer_address()}, "n4"};
  node n5{dir.str(), std::vector<std::string>{"--seeds", c[1].peer_address()}, "n5"};
  auto grown = handed_off({&c[0], &c[1], &c[2], &n4, &n5}, 60s);
  REQUIRE(grown);
  auto grow_took = since(grow_at);
  // On five nodes, each sampled key is on its three and nowhere else: the displaced copies went.
  auto grown_keys = t.acked();
  size_t sampled = 0, stray = 0, missing = 0;
  for (size_t i = 0; i < grown_keys.size(); i += std::max<size_t>(1, grown_keys.size() / 40)) {
    ++sampled;
    for (auto& v : explain(c[0], grown_keys[i], "default", true)) {
      if (v.preferred && !v.holds_only("value of " + grown_keys[i])) ++missing;
      if (!v.preferred && !v.values.empty()) {
        ++stray;
        std::cout << "STRAY key=" << grown_keys[i] << " on " << v.id << " vv=";
        for (auto& [a, n] : v.version_vector) std::cout << a << ":" << n << " ";
        std::cout << "\n";
      }
    }
  }
  CHECK(missing == 0);
  CHECK(stray == 0);
  std::this_thread::sleep_for(1s);

  auto shrink_at = steady::now();
  REQUIRE(kvctl(n5, {"leave"}).exit_code == 0);
  REQUIRE(kvctl(n4, {"leave"}).exit_code == 0);
  CHECK(n5.proc().wait_exit(60s) == std::optional<int>{0});
  CHECK(n4.proc().wait_exit(60s) == std::optional<int>{0});
  auto shrunk = handed_off({&c[0], &c[1], &c[2]}, 60s);
  REQUIRE(shrunk);
  auto shrink_took = since(shrink_at);
  t.stop();

  auto keys = t.acked();
  REQUIRE(keys.size() > 100);
  CHECK(unreadable(c, keys) == 0);
  CHECK(misplaced(c, keys, 50) == 0);
  for (size_t i = 0; i < 3; ++i) CHECK(member_states(c[i]).size() == 5);  // n4, n5: leaving
  std::cout << "handoff: " << keys.size() << " writes acknowledged (" << t.failed_writes
            << " refused) while growing 3 -> 5 (" << grow_took.count() << " ms, " << *grown
            << " keys sent) and shrinking back (" << shrink_took.count() << " ms, "
            << (*shrunk - *grown) << " more sent); " << t.reads << " reads during, "
            << t.read_misses << " of them missed a key still arriving; afterwards every "
            << "acknowledged key read back at R=2; on five nodes " << sampled
            << " sampled keys were on exactly their preference list (" << missing << " missing, "
            << stray << " stray copies)\n";
}

TEST_CASE("a node killed while it receives a transfer gets all of it after its restart",
          "[integration][handoff]") {
  slow_join j{3000};
  auto& c = j.c;
  auto n4 = j.join(c[0]);
  // Kill it as soon as a transfer to it is under way.
  REQUIRE(wait_until(20s, [&] { return c[0].wait_for_log("TransferStarted", 0ms); }));
  REQUIRE(n4->proc().signal(SIGKILL));
  n4->proc().wait_exit(5s);
  std::this_thread::sleep_for(1s);  // its senders fail their batches and wait
  n4->restart();
  auto done = handed_off({&c[0], &c[1], &c[2], static_cast<const node*>(n4.get())}, 60s);
  REQUIRE(done);
  CHECK(unreadable(c, j.keys) == 0);
  auto [held, missing] = j.n4_holds(30);  // n4 holds every key it is a replica of
  CHECK(held > 0);
  CHECK(missing == 0);
  size_t interrupted = 0;
  for (size_t i = 0; i < 3; ++i)
    interrupted += c[i].log().find("TransferInterrupted") != std::string::npos ? 1 : 0;
  CHECK(interrupted > 0);
  std::cout << "handoff to a node killed mid-transfer: " << interrupted
            << " senders saw their transfer interrupted and resumed; " << *done
            << " keys sent in all; of " << held << " sampled keys n4 holds, " << missing
            << " missing\n";
}

TEST_CASE("a sender killed mid-transfer resumes its transfers after its restart",
          "[integration][handoff]") {
  slow_join j{2000};
  auto& c = j.c;
  auto n4 = j.join(c[1]);
  REQUIRE(wait_until(20s, [&] { return c[0].wait_for_log("TransferStarted", 0ms); }));
  c.kill("n1");
  std::this_thread::sleep_for(1s);
  c.restart({"n1"});
  CHECK(c[0].wait_for_log("HandoffResumed", 5s));
  auto done = handed_off({&c[0], &c[1], &c[2], static_cast<const node*>(n4.get())}, 90s);
  REQUIRE(done);
  CHECK(unreadable(c, j.keys) == 0);
  auto [held, missing] = j.n4_holds(25);
  CHECK(held > 0);
  CHECK(missing == 0);
  std::cout << "handoff from a sender killed mid-transfer: resumed after its restart; of " << held
            << " sampled keys n4 holds, " << missing << " missing\n";
}
