#include "storage/object.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <tuple>

namespace kv::storage {
namespace {

sibling value(dot id, std::string text, int64_t timestamp_ms = 0) {
  return {std::move(id), std::move(text), false, timestamp_ms};
}

sibling tombstone(dot id, int64_t timestamp_ms = 0) {
  return {std::move(id), "", true, timestamp_ms};
}

bool holds(const object& obj, const dot& d) {
  return std::any_of(obj.siblings().begin(), obj.siblings().end(),
                     [&d](const sibling& s) { return s.id == d; });
}

std::vector<std::string> values(const object& obj) {
  std::vector<std::string> result;
  for (const auto& s : obj.siblings()) result.push_back(s.deleted ? "<deleted>" : s.value);
  return result;
}

bool newer(const sibling& a, const sibling& b) {
  return std::tie(a.timestamp_ms, a.id) > std::tie(b.timestamp_ms, b.id);
}

// A replica of one key: the actor it writes as, and what it stores.
struct replica {
  std::string actor;
  object state;

  // A client write coordinated here, which gives `version` its dot; `seen` is the client's
  // context.
  write_result write(const causal_context& seen, sibling version, write_rules rules = {}) {
    version.id = *next_dot(state, actor);
    auto result = apply_write(state, seen, std::move(version), rules);
    state = result.stored;
    return result;
  }
};

void require_normal_form(const object& obj) {
  const auto& siblings = obj.siblings();
  for (size_t i = 0; i < siblings.size(); ++i) {
    REQUIRE(obj.context().covers(siblings[i].id));
    if (i > 0) REQUIRE(siblings[i - 1].id < siblings[i].id);
  }
  REQUIRE(object::from_parts(siblings, obj.context()) == obj);
}

void require_laws(const object& a, const object& b, const object& c, resolution how) {
  REQUIRE(merge(a, b, how) == merge(b, a, how));
  REQUIRE(merge(merge(a, b, how), c, how) == merge(a, merge(b, c, how), how));
  REQUIRE(merge(a, a, how) == a);
}

// What a client keeps from a read, or from a write it made: the context, the dots it was shown
// (of a write: its own), and how many versions had been written by then.
struct client_read {
  causal_context context;
  std::vector<dot> shown;
  size_t written_before = 0;
};

// A random history of one key on a few replicas: clients read, write with a fresh, stale or
// empty context or the one an earlier write returned, delete, and replicas merge pairwise. Every
// step checks the rules of object.hpp against what the clients did; finish() checks the converged
// result.
class history {
 public:
  history(uint32_t seed, size_t replicas, write_rules rules) : rng_(seed), rules_(rules) {
    for (size_t i = 0; i < replicas; ++i)
      replicas_.push_back({std::string(1, static_cast<char>('a' + i)) + ".1", {}});
  }

  void run(int steps) {
    for (int i = 0; i < steps; ++i) {
      auto kind = pick(0, 9);
      if (kind < 2)
        reads_.push_back(read(replicas_[pick_replica()]));
      else if (kind < 7)
        write(replicas_[pick_replica()]);
      else
        merge_pair();
      for (const auto& r : replicas_) require_normal_form(r.state);
      if (i % 10 == 0) sample();
    }
  }

  // Merges every replica into one state, as anti-entropy eventually does, and checks it.
  void finish() {
    object all;
    for (const auto& r : replicas_) all = merge(all, r.state, rules_.how);
    for (const auto& r : replicas_) REQUIRE(merge(r.state, all, rules_.how) == all);
    if (rules_.how == resolution::lww)
      require_newest_survives(all);
    else if (exact())
      require_the_unsuperseded(all);
    sample();
    samples_.push_back(all);
  }

  void check_laws(int triples) {
    for (int i = 0; i < triples; ++i)
      require_laws(samples_[pick_sample()], samples_[pick_sample()], samples_[pick_sample()],
                   rules_.how);
  }

  size_t pruned() const { return pruned_; }

 private:
  // Without pruning, contexts are exact histories; pruning forgets, by design.
  bool exact() const { return rules_.max_context_entries == 0; }

  client_read read(const replica& r) const {
    client_read result{r.state.context(), {}, written_.size()};
    for (const auto& s : r.state.siblings()) result.shown.push_back(s.id);
    return result;
  }

  client_read choose_context(const replica& r) {
    auto kind = pick(0, 2);
    if (kind == 0) return read(r);
    if (kind == 1 && !reads_.empty()) return reads_[pick(0, static_cast<int>(reads_.size()) - 1)];
    return {};
  }

  void write(replica& r) {
    auto seen = choose_context(r);
    auto before = r.state;
    auto rules = rules_;
    rules.now_ms = clock_++ + pick(-3, 3);  // replicas' clocks disagree a little
    auto version = pick(0, 4) == 0 ? tombstone({}, rules.now_ms)
                                   : value({}, "v" + std::to_string(written_.size()), rules.now_ms);
    auto result = r.write(seen.context, version, rules);
    version.id = *next_dot(before, r.actor);
    if (rules_.how == resolution::lww) version.timestamp_ms = stamped(before, version);

    REQUIRE(r.state.context().covers(version.id));
    if (exact()) {
      REQUIRE(r.state.context().descends(before.context()));
      REQUIRE_FALSE(seen.context.covers(version.id));  // a dot is never reissued
    }
    require_handed_back(seen.context, version, r.state, result.seen);
    if (rules_.how == resolution::lww)
      require_lww_write(before, version, r.state);
    else
      require_causal_write(before, seen, version, r.state);
    if (!exact()) require_pruning(before, seen.context, version, rules, result);

    for (const auto& w : written_)
      if (seen.context.covers(w.id)) superseded_.insert(w.id);
    // A version whose exact dot the replica could not record may come back (object.cpp).
    for (const auto& d : seen.context.dots())
      if (!r.state.context().covers(d)) unrecorded_.insert(d);
    index_[version.id] = written_.size();
    written_.push_back(version);
    reads_.push_back({result.seen, {version.id}, written_.size()});
  }

  // The context a write hands back covers the new version and what the client had seen (but
  // for exact dots the stored context now records), and no other sibling the replica holds.
  static void require_handed_back(const causal_context& seen, const sibling& version,
                                  const object& after, const causal_context& handed) {
    REQUIRE(handed.covers(version.id));
    REQUIRE(handed.vv().descends(seen.vv()));
    for (const auto& d : seen.dots()) REQUIRE((handed.covers(d) || after.context().covers(d)));
    for (const auto& s : after.siblings())
      if (s.id != version.id) REQUIRE_FALSE(handed.covers(s.id));
  }

  void require_causal_write(const object& before, const client_read& seen, const sibling& version,
                            const object& after) {
    REQUIRE(holds(after, version.id));
    REQUIRE(after.siblings().size() <= before.siblings().size() + 1);
    for (const auto& s : before.siblings()) {
      // Superseded exactly when the client's context covers it...
      REQUIRE(holds(after, s.id) == !seen.context.covers(s.id));
      // ...so a blind write removes nothing, and a version written after the read survives.
      if (seen.context.empty() || index_.at(s.id) >= seen.written_before)
        REQUIRE(holds(after, s.id));
    }
    for (const auto& d : seen.shown) REQUIRE_FALSE(holds(after, d));
  }

  // Under lww the coordinating replica stamps a write after everything it holds, so the new
  // version is what it keeps, whatever its own clock said.
  static int64_t stamped(const object& before, const sibling& version) {
    auto ts = version.timestamp_ms;
    for (const auto& s : before.siblings()) ts = std::max(ts, s.timestamp_ms + 1);
    return ts;
  }

  void require_lww_write(const object&, const sibling& version, const object& after) {
    REQUIRE(after.siblings() == std::vector<sibling>{version});
  }

  void require_pruning(const object& before, const causal_context& seen, const sibling& version,
                       write_rules rules, const write_result& result) {
    rules.max_context_entries = 0;
    auto unpruned = apply_write(before, seen, version, rules).stored;
    const auto& kept = result.stored.context();
    REQUIRE(result.stored.siblings() == unpruned.siblings());
    REQUIRE(result.pruned == unpruned.context().size() - kept.size());
    for (const auto& e : kept.entries())
      REQUIRE(std::count(unpruned.context().entries().begin(), unpruned.context().entries().end(),
                         e) == 1);
    if (kept.size() > rules_.max_context_entries)
      for (const auto& e : kept.entries())
        REQUIRE(std::any_of(unpruned.siblings().begin(), unpruned.siblings().end(),
                            [&e](const sibling& s) { return s.id.actor == e.actor; }));
    pruned_ += result.pruned;
  }

  void merge_pair() {
    auto i = pick_replica();
    auto j = (i + 1 + pick(0, static_cast<int>(replicas_.size()) - 2)) % replicas_.size();
    auto& a = replicas_[i].state;
    const auto& b = replicas_[j].state;
    auto result = merge(a, b, rules_.how);
    if (rules_.how == resolution::causal) {
      require_join_keeps_unseen(a, b, result);
      require_join_keeps_unseen(b, a, result);
    } else {
      REQUIRE(result.siblings().size() <= 1);
    }
    a = result;
  }

  // A sibling of `from` leaves a join only when `other` has seen it and no longer holds it.
  static void require_join_keeps_unseen(const object& from, const object& other,
                                        const object& joined) {
    for (const auto& s : from.siblings())
      REQUIRE(holds(joined, s.id) == (holds(other, s.id) || !other.context().covers(s.id)));
  }

  // Nothing acknowledged is lost, and nothing superseded comes back but a version whose exact
  // dot a replica could not record (the price object.cpp names).
  void require_the_unsuperseded(const object& all) const {
    for (const auto& w : written_)
      if (superseded_.count(w.id) == 0) REQUIRE(holds(all, w.id));
    for (const auto& s : all.siblings())
      if (superseded_.count(s.id) != 0) REQUIRE(unrecorded_.count(s.id) == 1);
  }

  void require_newest_survives(const object& all) const {
    REQUIRE(all.empty() == written_.empty());
    if (written_.empty()) return;
    auto newest = *std::max_element(written_.begin(), written_.end(),
                                    [](const sibling& a, const sibling& b) { return newer(b, a); });
    REQUIRE(all.siblings() == std::vector<sibling>{newest});
  }

  void sample() {
    for (const auto& r : replicas_) samples_.push_back(r.state);
  }

  int pick(int low, int high) { return std::uniform_int_distribution<int>{low, high}(rng_); }
  size_t pick_replica() {
    return static_cast<size_t>(pick(0, static_cast<int>(replicas_.size()) - 1));
  }
  size_t pick_sample() {
    return static_cast<size_t>(pick(0, static_cast<int>(samples_.size()) - 1));
  }

  std::mt19937 rng_;
  write_rules rules_;
  std::vector<replica> replicas_;
  std::vector<client_read> reads_;
  std::vector<sibling> written_;  // every version ever written, in order
  std::map<dot, size_t> index_;   // position of each dot in written_
  std::set<dot> superseded_;      // dots some write's context covered
  std::set<dot> unrecorded_;      // exact dots of a context some write could not record
  std::vector<object> samples_;   // states seen along the way, for the laws
  int64_t clock_ = 1000;
  size_t pruned_ = 0;
};

}  // namespace

// -- the rules, by example ------------------------------------------------------------------

TEST_CASE("a write with a context supersedes exactly what it covers", "[object]") {
  replica r{"a.1", {}};
  r.write({}, value({}, "v1"));
  auto read = r.state.context();                 // the client saw v1
  r.write({}, value({}, "v2"));                  // another client writes concurrently
  auto result = r.write(read, value({}, "v3"));  // the first client writes back
  CHECK(values(r.state) == std::vector<std::string>{"v2", "v3"});
  CHECK(to_string(r.state.context()) == "{a.1:3}");
  CHECK(to_string(result.seen) == "{a.1:1} + [a.1:3]");  // {a.1:3} would cover v2 too
  CHECK(r.write(r.state.context(), value({}, "v4")).stored.siblings().size() == 1);
}

TEST_CASE("the context a write returns never covers a sibling its writer was not shown",
          "[object]") {
  // Blind put "one", blind put "two" through the same node, then put "three" with the context
  // "two" returned. That context used to be {a.1:2}, which covers "one" too, so "three"
  // superseded "one", which nobody had read: acknowledged data lost.
  replica r{"a.1", {}};
  r.write({}, value({}, "one"));
  auto two = r.write({}, value({}, "two"));
  CHECK(two.seen.covers({"a.1", 2}));
  CHECK_FALSE(two.seen.covers({"a.1", 1}));
  r.write(two.seen, value({}, "three"));
  CHECK(values(r.state) == std::vector<std::string>{"one", "three"});
}

TEST_CASE("a write with the context the last one returned supersedes it, and nothing grows",
          "[object]") {
  replica r{"a.1", {}};
  auto seen = r.write({}, value({}, "v0")).seen;
  for (int i = 1; i <= 10; ++i) {
    seen = r.write(seen, value({}, "v" + std::to_string(i))).seen;
    REQUIRE(values(r.state) == std::vector<std::string>{"v" + std::to_string(i)});
    REQUIRE(seen.dots().empty());  // the common case: the token stays a plain vector
  }
  CHECK(to_string(seen) == "{a.1:11}");
}

TEST_CASE("beside a sibling its writer was never shown, a token carries one exact dot",
          "[object]") {
  replica r{"a.1", {}};
  r.write({}, value({}, "one"));
  auto seen = r.write({}, value({}, "v0")).seen;
  CHECK(to_string(seen) == "{} + [a.1:2]");
  for (int i = 1; i <= 10; ++i) {
    seen = r.write(seen, value({}, "v" + std::to_string(i))).seen;
    REQUIRE(values(r.state) == std::vector<std::string>{"one", "v" + std::to_string(i)});
    // The dot of the version just superseded is in the stored context now: it is not handed
    // back again, so the token does not grow.
    REQUIRE(seen.dots() == std::vector<dot>{{"a.1", static_cast<uint64_t>(i) + 2}});
  }
  SECTION("and a read's context, which saw both, resolves them") {
    r.write(r.state.context(), value({}, "both"));
    CHECK(values(r.state) == std::vector<std::string>{"both"});
  }
}

TEST_CASE("an exact dot is recorded in a stored context only where it extends it without a gap",
          "[object]") {
  replica a{"a.1", {}}, b{"b.1", {}};
  a.write({}, value({}, "one"));
  auto after_one = a.state;
  auto two = a.write({}, value({}, "two")).seen;  // {} + [a.1:2]

  SECTION("a replica that has not seen a.1:1 must not claim it") {
    auto three = b.write(two, value({}, "three"));
    CHECK_FALSE(b.state.context().covers({"a.1", 1}));
    CHECK_FALSE(b.state.context().covers({"a.1", 2}));
    CHECK(three.seen.covers({"a.1", 2}));  // not recorded, so still handed back
    // "one" survives; "two", superseded but not recorded at b, comes back as a sibling.
    CHECK(values(merge(a.state, b.state)) == std::vector<std::string>{"one", "two", "three"});
  }
  SECTION("a replica that has seen a.1:1 records a.1:2") {
    b.state = merge(b.state, after_one);
    auto three = b.write(two, value({}, "three"));
    CHECK(to_string(b.state.context()) == "{a.1:2, b.1:1}");
    CHECK(to_string(three.seen) == "{b.1:1}");
    CHECK(values(merge(a.state, b.state)) == std::vector<std::string>{"one", "three"});
  }
}

TEST_CASE("clients that write with the context their last write returned lose no one's write",
          "[object]") {
  // Each client writes blindly once, then always with what its last write returned, through
  // any replica; replicas merge now and then. Every client's latest write must survive: a
  // context never covers another client's version that this client was not shown.
  std::mt19937 rng{23};
  auto pick = [&rng](size_t n) { return std::uniform_int_distribution<size_t>{0, n - 1}(rng); };
  for (size_t run = 0; run < 200; ++run) {
    size_t k = 2 + run % 3;
    INFO("run " << run << " with " << k << " clients");
    std::vector<replica> replicas{{"a.1", {}}, {"b.1", {}}, {"c.1", {}}};
    std::vector<causal_context> seen(k);
    std::vector<std::optional<dot>> latest(k);
    for (int step = 0; step < 60; ++step) {
      auto c = pick(k);
      auto& r = replicas[pick(replicas.size())];
      auto id = next_dot(r.state, r.actor);
      seen[c] = r.write(seen[c], value({}, "c" + std::to_string(c))).seen;
      latest[c] = id;
      for (size_t other = 0; other < k; ++other)
        if (latest[other] && r.state.context().covers(*latest[other]))
          REQUIRE(holds(r.state, *latest[other]));
      if (pick(3) == 0) {
        auto i = pick(3), j = pick(3);
        replicas[i].state = merge(replicas[i].state, replicas[j].state);
      }
    }
    object all;
    for (const auto& each : replicas) all = merge(all, each.state);
    for (const auto& d : latest)
      if (d) REQUIRE(holds(all, *d));
  }
}

TEST_CASE("a blind write becomes a sibling of every existing value", "[object]") {
  replica r{"a.1", {}};
  r.write({}, value({}, "v1"));
  r.write({}, value({}, "v2"));
  CHECK(values(r.state) == std::vector<std::string>{"v1", "v2"});
}

TEST_CASE("a delete is a tombstone that supersedes what its context covers", "[object]") {
  replica r{"a.1", {}};
  r.write({}, value({}, "v1"));
  r.write(r.state.context(), tombstone({}));
  CHECK(values(r.state) == std::vector<std::string>{"<deleted>"});
  CHECK_FALSE(r.state.empty());
  CHECK_FALSE(r.state.has_live());

  SECTION("and a concurrent write survives it") {
    r.write({}, value({}, "v2"));
    CHECK(values(r.state) == std::vector<std::string>{"<deleted>", "v2"});
    CHECK(r.state.has_live());
  }
}

TEST_CASE("merge drops what the other side superseded and keeps what it has not seen", "[object]") {
  replica a{"a.1", {}}, b{"b.1", {}};
  a.write({}, value({}, "x"));
  b.state = merge(b.state, a.state);
  b.write(b.state.context(), value({}, "y"));  // supersedes x on b
  a.write({}, value({}, "z"));                 // concurrent with y, unseen by b
  auto joined = merge(a.state, b.state);
  CHECK(values(joined) == std::vector<std::string>{"z", "y"});
  CHECK(to_string(joined.context()) == "{a.1:2, b.1:1}");
  CHECK(joined == merge(b.state, a.state));
}

TEST_CASE("a write through another replica supersedes what the client read elsewhere", "[object]") {
  replica a{"a.1", {}}, b{"b.1", {}};
  a.write({}, value({}, "x"));
  b.write(a.state.context(), value({}, "y"));  // b never held x
  CHECK(values(b.state) == std::vector<std::string>{"y"});
  CHECK(values(merge(a.state, b.state)) == std::vector<std::string>{"y"});
}

TEST_CASE("under last-write-wins only the newest sibling survives", "[object]") {
  write_rules lww{resolution::lww, 0, 0};
  replica a{"a.1", {}}, b{"b.1", {}};
  a.write({}, value({}, "late", 20), lww);
  b.write({}, value({}, "early", 10), lww);
  b.write({}, value({}, "tie", 20), lww);  // same timestamp: the larger dot wins
  CHECK(values(b.state) == std::vector<std::string>{"tie"});
  CHECK(values(merge(a.state, b.state, resolution::lww)) == std::vector<std::string>{"tie"});
}

TEST_CASE("under last-write-wins a write wins over what its replica held, whatever its clock",
          "[object]") {
  // The reviewer's case: v1 at 1000, the clock steps back to 900, a client reads v1 and writes
  // v2. v2 must stay: it was not concurrent with v1, it came after it.
  write_rules lww{resolution::lww, 0, 0};
  replica a{"a.1", {}}, b{"b.1", {}};
  a.write({}, value({}, "v1", 1000), lww);
  a.write(a.state.context(), value({}, "v2", 900), lww);
  CHECK(values(a.state) == std::vector<std::string>{"v2"});
  CHECK(a.state.siblings().front().timestamp_ms == 1001);
  b.state = merge(b.state, a.state, resolution::lww);
  a.write({}, value({}, "v3", 800), lww);  // a blind write that arrives later wins as well
  CHECK(values(merge(a.state, b.state, resolution::lww)) == std::vector<std::string>{"v3"});
}

TEST_CASE("the next dot is one above the actor's counter in the context", "[object]") {
  replica a{"a.1", {}};
  CHECK(next_dot(a.state, "a.1") == dot{"a.1", 1});
  a.write({}, value({}, "x"));
  a.write({}, value({}, "y"));
  CHECK(next_dot(a.state, "a.1") == dot{"a.1", 3});
  CHECK(next_dot(a.state, "b.1") == dot{"b.1", 1});
}

TEST_CASE("a write after its key was removed is not lost to an old copy kept elsewhere",
          "[object]") {
  // a and b hold a value of actor a.1 at counter 2; a removes the key (its version expired, or
  // a purge), b has not yet. A new write through a must survive a merge with b's old copy.
  replica a{"a.1", {}};
  a.write({}, value({}, "x"));
  a.write({}, value({}, "y"));
  auto b_state = a.state;
  replica fresh{"a.1", {}};  // a's state of the key after the removal
  SECTION("a reissued counter is taken for the old one and the write is dropped") {
    fresh.write({}, value({}, "new"));  // next_dot without a floor: a.1:1 again
    auto merged = values(merge(b_state, fresh.state));
    CHECK(std::count(merged.begin(), merged.end(), "new") == 0);
  }
  SECTION("with the actor's floor the new dot is above every one it issued") {
    auto id = next_dot(fresh.state, "a.1", 2);
    CHECK(id == dot{"a.1", 3});
    sibling version{*id, "new", false, 0};
    auto written = apply_write(fresh.state, {}, std::move(version), {});
    auto merged = values(merge(b_state, written.stored));
    CHECK(std::count(merged.begin(), merged.end(), "new") == 1);
  }
}

TEST_CASE("no dot is issued past the plausible counter, whatever a context claims", "[object]") {
  replica a{"a.1", {}};
  a.write({}, value({}, "x"));
  auto claims = [](uint64_t counter) {
    return object::from_parts({}, version_vector::from_entries({{"a.1", counter, 0}}));
  };
  CHECK(next_dot(claims(max_counter - 2), "a.1") == dot{"a.1", max_counter - 1});
  CHECK_FALSE(next_dot(claims(max_counter - 1), "a.1"));
  CHECK_FALSE(next_dot(claims(UINT64_MAX), "a.1"));  // wrapped to counter 0 before
  CHECK_FALSE(next_dot(a.state, "a.1", UINT64_MAX));
  CHECK(next_dot(claims(UINT64_MAX), "b.1") == dot{"b.1", 1});
}

TEST_CASE("from_parts sorts, keeps one sibling per dot and covers every sibling", "[object]") {
  auto obj = object::from_parts(
      {value({"b.1", 1}, "y", 5), value({"a.1", 2}, "x", 7), value({"b.1", 1}, "y", 6)},
      version_vector::from_entries({{"a.1", 1, 3}}));
  REQUIRE(obj.siblings().size() == 2);
  CHECK(obj.siblings()[0] == value({"a.1", 2}, "x", 7));
  CHECK(obj.siblings()[1] == value({"b.1", 1}, "y", 6));  // the larger copy of one dot
  CHECK(obj.context().entries() ==
        std::vector<version_vector::entry>{{"a.1", 2, 7}, {"b.1", 1, 6}});
  CHECK(object{}.empty());
  CHECK_FALSE(object{}.has_live());
}

TEST_CASE("pruning drops the oldest context entries but never one that has a sibling", "[object]") {
  object five_actors;
  for (int i = 0; i < 5; ++i) {
    replica r{std::string(1, static_cast<char>('a' + i)) + ".1", {}};
    r.write(five_actors.context(), value({}, r.actor), {resolution::causal, 100 * i, 0});
    five_actors = merge(five_actors, r.state);
  }
  REQUIRE(values(five_actors) == std::vector<std::string>{"e.1"});  // each superseded the last
  replica c{"c.1", five_actors};
  auto result = c.write({}, value({}, "blind"), {resolution::causal, 1000, 2});
  CHECK(result.pruned == 3);
  CHECK(to_string(result.stored.context()) == "{c.1:2, e.1:1}");
  CHECK(values(result.stored) == std::vector<std::string>{"blind", "e.1"});
}

// -- the rules, as laws over random histories ------------------------------------------------

TEST_CASE("causal histories keep every write no context covered, and merge is a join", "[object]") {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    history h{seed, 3, {}};
    h.run(40);
    h.finish();
    h.check_laws(20);
  }
}

TEST_CASE("last-write-wins histories keep exactly the newest write, and merge is a join",
          "[object]") {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    INFO("seed " << seed);
    history h{seed, 3, {resolution::lww, 0, 0}};
    h.run(40);
    h.finish();
    h.check_laws(20);
  }
}

TEST_CASE("pruned histories never drop an actor that has a sibling and count what they drop",
          "[object]") {
  size_t pruned = 0;
  for (uint32_t seed = 1; seed <= 100; ++seed) {
    INFO("seed " << seed);
    history h{seed, 5, {resolution::causal, 0, 2}};
    h.run(40);
    h.finish();
    pruned += h.pruned();
  }
  CHECK(pruned > 0);
}

TEST_CASE("k clients that read before each write never leave more than k + 1 siblings",
          "[object]") {
  std::mt19937 rng{11};
  auto pick = [&rng](size_t n) { return std::uniform_int_distribution<size_t>{0, n - 1}(rng); };
  for (size_t run = 0; run < 200; ++run) {
    size_t k = 1 + run % 4;
    INFO("run " << run << " with " << k << " clients");
    std::vector<replica> replicas{{"a.1", {}}, {"b.1", {}}, {"c.1", {}}};
    replicas[0].write({}, value({}, "initial"));
    std::vector<size_t> home(k);
    for (auto& h : home) h = pick(replicas.size());
    std::vector<std::optional<version_vector>> pending(k);  // a read not yet written back
    for (int step = 0; step < 80; ++step) {
      auto c = pick(k);
      auto& r = replicas[home[c]];
      if (pending[c]) {
        r.write(*pending[c], value({}, "c" + std::to_string(c)));
        pending[c].reset();
      } else {
        pending[c] = r.state.context();
      }
      if (pick(3) == 0) {
        auto i = pick(3), j = pick(3);
        replicas[i].state = merge(replicas[i].state, replicas[j].state);
      }
      for (const auto& each : replicas) REQUIRE(each.state.siblings().size() <= k + 1);
    }
    object all;
    for (const auto& each : replicas) all = merge(all, each.state);
    REQUIRE(all.siblings().size() <= k + 1);
  }
}

}  // namespace kv::storage
