// Crash durability of a real kvnode: writers stream puts, the node is SIGKILLed while writes
// are in flight, and after a restart on the same data dir every acknowledged write is there.
//
// What may legitimately be read back, per key (each key is written by one thread only, one
// write at a time, and a thread stops at its first failed write):
//   - a key's history is some acknowledged writes a1..ak, then at most one write f whose
//     outcome is unknown (the node died, or the client gave up on it);
//   - each write carries the context returned by the previous acknowledged put of that key,
//     so it supersedes exactly that one; nothing is ever concurrent with anything else;
//   - hence the key holds exactly one sibling, {ak} or {f}; with no acknowledged write, the
//     key is missing or holds {f}. Any other value, any second sibling, any tombstone, and a
//     missing ak are violations.
#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "client/blocking_client.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::client::blocking_client;
using kv::test::node;
using steady = std::chrono::steady_clock;

constexpr int writer_threads = 6;
constexpr int hot_keys_per_thread = 3;
constexpr size_t acked_before_kill = 6000;  // then SIGKILL, with the writers still going
constexpr auto workload_bound = 15s;        // SIGKILL earlier if the disk is slow

struct write {
  std::string value;
  bool acked = false;
  std::string context;  // of an acknowledged put: covers this write
};

// Every write of one key, in issue order.
using history = std::vector<write>;

struct counts {
  size_t acked = 0;
  size_t unknown = 0;  // failed: the write may or may not have been applied
  size_t verified = 0;
  size_t unknown_applied = 0;
};

// One writer: distinct keys "d-<t>-<seq>", and every fourth write to one of its hot keys
// "h-<t>-<j>" with the context of that key's previous acknowledged put.
void writer(int t, const node& n, const std::atomic<bool>& stop, std::atomic<size_t>& acked,
            std::map<std::string, history>& out) {
  blocking_client db{kv::test::client_config_for(n)};
  std::map<std::string, std::string> context;
  kv::client::request_options opts;
  opts.timeout = 3000ms;
  for (int seq = 0; !stop; ++seq) {
    bool hot = seq % 4 == 3;
    auto key = hot ? "h-" + std::to_string(t) + "-" + std::to_string(seq / 4 % hot_keys_per_thread)
                   : "d-" + std::to_string(t) + "-" + std::to_string(seq);
    auto value = "t" + std::to_string(t) + "-" + std::to_string(seq);
    auto written = db.put(key, value, opts, hot ? context[key] : std::string{});
    out[key].push_back({value, static_cast<bool>(written), written ? *written : std::string{}});
    if (!written) return;
    if (hot) context[key] = *written;
    ++acked;
  }
}

// Checks one key against its history (see the top of the file); returns a description of the
// violation, or "" when the key holds what it may.
std::string check_key(const std::string& key, const history& h, blocking_client& db, counts& c,
                      std::mutex& mtx) {
  const write* last_acked = nullptr;
  const write* unknown = nullptr;
  for (auto& w : h) {
    if (unknown != nullptr) return key + ": written after a failed write (harness bug)";
    (w.acked ? last_acked : unknown) = &w;
  }
  kv::client::request_options opts;
  opts.timeout = 5000ms;
  auto got = db.get(key, opts);
  if (!got) return key + ": get failed: " + got.error().describe();
  auto& siblings = got->siblings;
  std::string seen;
  for (auto& s : siblings)
    seen += (seen.empty() ? "" : ", ") + (s.deleted ? "(tombstone)" : s.value);
  auto holds = [&](const write* w) {
    return w != nullptr && siblings.size() == 1 && !siblings[0].deleted &&
           siblings[0].value == w->value;
  };
  std::lock_guard<std::mutex> guard{mtx};
  if (holds(last_acked)) return ++c.verified, "";
  if (holds(unknown)) return ++c.verified, ++c.unknown_applied, "";
  if (siblings.empty() && last_acked == nullptr) return ++c.verified, "";
  return key + ": holds {" + seen +
         "}; last acknowledged: " + (last_acked ? last_acked->value : "none") +
         ", unknown outcome: " + (unknown ? unknown->value : "none");
}

// Reads every key back with a few threads; returns the violations.
std::vector<std::string> verify(const node& n, const std::map<std::string, history>& all,
                                counts& c) {
  std::vector<std::pair<std::string, const history*>> keys;
  for (auto& [key, h] : all) keys.emplace_back(key, &h);
  blocking_client db{kv::test::client_config_for(n)};
  std::mutex mtx;
  std::vector<std::string> violations;
  std::vector<std::thread> readers;
  for (size_t r = 0; r < 4; ++r)
    readers.emplace_back([&, r] {
      for (size_t i = r; i < keys.size(); i += 4) {
        auto v = check_key(keys[i].first, *keys[i].second, db, c, mtx);
        std::lock_guard<std::mutex> guard{mtx};
        if (!v.empty()) violations.push_back(std::move(v));
      }
    });
  for (auto& t : readers) t.join();
  return violations;
}

// Contexts handed out before the crash stay valid after it: a put with the last acknowledged
// context of a hot key supersedes that write, and only it (a later write of unknown outcome
// that was applied stays, as a sibling). Returns the violations.
std::vector<std::string> write_on_old_contexts(const node& n,
                                               const std::map<std::string, history>& all) {
  blocking_client db{kv::test::client_config_for(n)};
  std::vector<std::string> violations;
  for (auto& [key, h] : all) {
    if (key[0] != 'h') continue;
    const write* last_acked = nullptr;
    const write* unknown = nullptr;
    for (auto& w : h) (w.acked ? last_acked : unknown) = &w;
    if (last_acked == nullptr) continue;
    auto before = db.get(key);
    if (!before) return {key + ": get failed: " + before.error().describe()};
    bool unknown_applied = before->siblings.size() == 1 && unknown != nullptr &&
                           before->siblings[0].value == unknown->value;
    auto value = last_acked->value + "-after-restart";
    auto put = db.put(key, value, {}, last_acked->context);
    if (!put) return {key + ": put failed: " + put.error().describe()};
    std::set<std::string> expected{value};
    if (unknown_applied) expected.insert(unknown->value);
    auto got = db.get(key);
    std::set<std::string> seen;
    if (got)
      for (auto& s : got->siblings) seen.insert(s.value);
    if (seen != expected)
      violations.push_back(key + ": a put with the context of " + last_acked->value + " left " +
                           std::to_string(seen.size()) + " siblings, expected " +
                           std::to_string(expected.size()));
  }
  return violations;
}

void crash_and_verify(const std::vector<std::string>& flags) {
  kv::test::temp_dir dir;
  node n{dir.str(), flags};
  std::atomic<bool> stop{false};
  std::atomic<size_t> acked{0};
  std::vector<std::map<std::string, history>> per_thread(writer_threads);
  std::vector<std::thread> writers;
  for (int t = 0; t < writer_threads; ++t)
    writers.emplace_back(writer, t, std::cref(n), std::cref(stop), std::ref(acked),
                         std::ref(per_thread[t]));
  auto deadline = steady::now() + workload_bound;
  while (acked < acked_before_kill && steady::now() < deadline) std::this_thread::sleep_for(5ms);
  auto acked_at_kill = acked.load();
  n.proc().kill_now();  // SIGKILL with the writers still writing
  stop = true;
  for (auto& t : writers) t.join();

  std::map<std::string, history> all;
  counts c;
  for (auto& m : per_thread)
    for (auto& [key, h] : m) {
      for (auto& w : h) ++(w.acked ? c.acked : c.unknown);
      all[key] = h;
    }
  n.restart();
  auto violations = verify(n, all, c);
  std::cout << "crash durability (--sync " << flags.back() << "): acknowledged " << c.acked << " ("
            << acked_at_kill << " when SIGKILL was sent), "
            << "failed/unknown " << c.unknown << " (" << c.unknown_applied
            << " of them found applied), keys " << all.size() << ", verified " << c.verified
            << ", violations " << violations.size() << "\n";
  for (size_t i = 0; i < violations.size() && i < 20; ++i) UNSCOPED_INFO(violations[i]);
  CHECK(violations.empty());
  auto stale = write_on_old_contexts(n, all);
  for (size_t i = 0; i < stale.size() && i < 20; ++i) UNSCOPED_INFO(stale[i]);
  CHECK(stale.empty());
  CHECK(c.verified == all.size());
  // The kill came mid-stream: every writer had a write in flight or started one after it.
  CHECK(c.unknown >= 1);
  CHECK(c.acked >= acked_before_kill / 2);
}

}  // namespace

TEST_CASE("every acknowledged write survives a SIGKILL of kvnode in the middle of a stream",
          "[integration][durability]") {
  crash_and_verify({"--sync", "always"});
}

// With --sync none a write is acknowledged once RocksDB has written it to the WAL file, before
// the fsync: the data sits in the OS page cache, which a crash of the process alone does not
// lose. Only power loss or a kernel crash can drop it, and a SIGKILL is neither.
TEST_CASE("with --sync none a SIGKILL of the process alone loses no acknowledged write",
          "[integration][durability]") {
  crash_and_verify({"--sync", "none"});
}
