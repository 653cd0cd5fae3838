#include <catch2/catch.hpp>

#include <random>

#include "cluster/members.hpp"

using namespace kv::cluster;

namespace {

member_entry row(const std::string& id, member_status s, uint64_t inc, uint64_t hb,
                 const std::string& rack = "r1") {
  member_entry e;
  e.spec = {id, rack, "dc1", 1};
  e.address = "127.0.0.1:7" + id;
  e.status = s;
  e.incarnation = inc;
  e.heartbeat = hb;
  return e;
}

member_entry random_row(std::mt19937& rng, const std::string& id) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>{lo, hi}(rng); };
  return row(id, static_cast<member_status>(pick(0, 4)), pick(1, 3), pick(0, 3),
             "r" + std::to_string(pick(1, 2)));
}

}  // namespace

TEST_CASE("row merge is commutative, associative and idempotent", "[members]") {
  std::mt19937 rng{42};
  for (int i = 0; i < 20000; ++i) {
    auto a = random_row(rng, "n1"), b = random_row(rng, "n1"), c = random_row(rng, "n1");
    REQUIRE(merge(a, b) == merge(b, a));
    REQUIRE(merge(merge(a, b), c) == merge(a, merge(b, c)));
    REQUIRE(merge(a, a) == a);
  }
}

TEST_CASE("a higher incarnation wins whole, removal wins over everything", "[members]") {
  auto old_down = row("n2", member_status::down, 5, 90);
  auto restarted = row("n2", member_status::up, 9, 1);
  CHECK(merge(old_down, restarted) == restarted);
  auto removed = row("n2", member_status::removed, 5, 0);
  CHECK(merge(removed, restarted).status == member_status::removed);
  // At one incarnation: the later status and the higher heartbeat.
  auto m = merge(row("n2", member_status::up, 5, 40), row("n2", member_status::down, 5, 30));
  CHECK(m.status == member_status::down);
  CHECK(m.heartbeat == 40);
}

TEST_CASE("tables that received the same rows are equal, whatever the order", "[members]") {
  std::mt19937 rng{7};
  for (int round = 0; round < 200; ++round) {
    std::vector<member_entry> rows;
    for (int i = 0; i < 12; ++i) rows.push_back(random_row(rng, "n" + std::to_string(i % 4 + 2)));
    member_table a{row("n1", member_status::up, 1, 0)}, b{row("n1", member_status::up, 1, 0)};
    a.merge(rows);
    std::shuffle(rows.begin(), rows.end(), rng);
    for (auto& r : rows) b.merge({r});
    REQUIRE(a.entries() == b.entries());
  }
}

TEST_CASE("a node said down refutes with a higher incarnation, keeping its status", "[members]") {
  member_table me{row("n1", member_status::leaving, 4, 10)};
  auto out = me.merge({row("n1", member_status::down, 4, 10)});
  CHECK(out.refuted);
  CHECK(me.self().status == member_status::leaving);
  CHECK(me.self().incarnation == 5);
  member_table other{row("n2", member_status::up, 1, 0)};
  CHECK(other.merge({row("n1", member_status::down, 4, 10)}).learned ==
        std::vector<std::string>{"n1"});
  CHECK(other.merge(me.entries()).revived == std::vector<std::string>{"n1"});
  // The refutation wins wherever it goes.
  CHECK(merge(row("n1", member_status::down, 4, 10), me.self()) == me.self());
  // A stale row from an earlier life of this node changes nothing.
  out = me.merge({row("n1", member_status::up, 2, 900)});
  CHECK_FALSE(out.changed);
}

TEST_CASE("a node restarted with an old table does not bring back what changed since",
          "[members]") {
  member_table cluster_view{row("n1", member_status::up, 100, 50)};
  cluster_view.merge({row("n2", member_status::up, 200, 7), row("n3", member_status::up, 300, 3)});
  CHECK(cluster_view.mark_removed("n3"));
  // n2 restarts (new epoch) with the table it stored long ago: n3 up, n1 at an old heartbeat.
  member_table restarted{row("n2", member_status::up, 250, 0)};
  restarted.merge({row("n1", member_status::up, 100, 2), row("n3", member_status::up, 300, 1)});
  auto out = cluster_view.merge(restarted.entries());
  CHECK(cluster_view.find("n3")->status == member_status::removed);
  CHECK(cluster_view.find("n1")->heartbeat == 50);
  CHECK(cluster_view.find("n2")->incarnation == 250);
  CHECK(out.advanced == std::vector<std::string>{"n2"});
  CHECK(out.learned.empty());
  CHECK(out.revived.empty());
  restarted.merge(cluster_view.entries());
  CHECK(restarted.entries() == cluster_view.entries());
}

TEST_CASE("a removed node learns it and cannot refute", "[members]") {
  member_table me{row("n1", member_status::up, 4, 10)};
  auto out = me.merge({row("n1", member_status::removed, 3, 0)});
  CHECK(out.self_removed);
  CHECK(out.placement_changed);
  CHECK(me.self().status == member_status::removed);
  me.set_self_status(member_status::up);
  CHECK(me.self().status == member_status::removed);
}

TEST_CASE("placement holds up and down members, not joining, leaving or removed", "[members]") {
  member_table t{row("n1", member_status::up, 1, 0)};
  auto out =
      t.merge({row("n2", member_status::down, 1, 0), row("n3", member_status::joining, 1, 0),
               row("n4", member_status::leaving, 1, 0), row("n5", member_status::removed, 1, 0)});
  CHECK(out.placement_changed);
  std::vector<std::string> ids;
  for (auto& m : t.placement()) ids.push_back(m.id);
  CHECK(ids == std::vector<std::string>{"n1", "n2"});
  // Going down keeps a member's place; a heartbeat changes nothing about placement.
  out = t.merge({row("n2", member_status::down, 1, 5)});
  CHECK(out.changed);
  CHECK_FALSE(out.placement_changed);
  CHECK(out.advanced == std::vector<std::string>{"n2"});
  CHECK_FALSE(t.mark_down("n4"));  // leaving: silent or not, it holds nothing
}

TEST_CASE("mark_down takes effect once, never on this node or a removed one", "[members]") {
  member_table t{row("n1", member_status::up, 1, 0)};
  t.merge({row("n2", member_status::up, 3, 0), row("n3", member_status::removed, 1, 0)});
  CHECK(t.mark_down("n2"));
  CHECK_FALSE(t.mark_down("n2"));
  CHECK_FALSE(t.mark_down("n1"));
  CHECK_FALSE(t.mark_down("n3"));
  CHECK_FALSE(t.mark_down("n9"));
  CHECK(t.find("n2")->incarnation == 3);
}

TEST_CASE("a refutation at the counter bound stays at the bound, never wraps", "[members]") {
  member_table me{row("n1", member_status::up, 4, 10)};
  auto out = me.merge({row("n1", member_status::down, UINT64_MAX, 10)});
  CHECK(out.refuted);
  CHECK(me.self().status == member_status::up);
  CHECK(me.self().incarnation == max_counter);
  member_table at_bound{row("n1", member_status::up, 4, 10)};
  at_bound.merge({row("n1", member_status::down, max_counter - 1, 10)});
  CHECK(at_bound.self().incarnation == max_counter);
  at_bound.merge({row("n1", member_status::down, max_counter, 10)});
  CHECK(at_bound.self().incarnation == max_counter);
}

TEST_CASE("this node's heartbeat and incarnation stop at the counter bound", "[members]") {
  member_table me{row("n1", member_status::up, max_counter, max_counter)};
  me.beat();
  CHECK(me.self().heartbeat == max_counter);
  me.set_self_status(member_status::leaving);
  CHECK(me.self().status == member_status::leaving);
  CHECK(me.self().incarnation == max_counter);
}

TEST_CASE("a full table takes no new ids and reports them, yet merges rows it holds", "[members]") {
  member_table t{row("n1", member_status::up, 1, 0)};
  std::vector<member_entry> rows;
  for (size_t i = 2; i <= max_members; ++i)
    rows.push_back(row("m" + std::to_string(i), member_status::up, 1, 0));
  CHECK(t.merge(rows).refused.empty());
  REQUIRE(t.rows().size() == max_members);
  auto out = t.merge({row("extra", member_status::up, 1, 0), row("m2", member_status::up, 1, 5)});
  CHECK(out.refused == std::vector<std::string>{"extra"});
  CHECK(out.advanced == std::vector<std::string>{"m2"});
  CHECK(t.find("extra") == nullptr);
  CHECK(t.rows().size() == max_members);
}

TEST_CASE(
    "a member speaks for itself: of others it may introduce, relay a heartbeat, declare "
    "down or removed",
    "[members]") {
  member_table here{row("n1", member_status::up, 10, 0)};
  here.merge({row("n2", member_status::up, 20, 5), row("n4", member_status::leaving, 40, 1)});
  auto said = [&](std::vector<member_entry> rows) { return here.merge_said_by("n3", rows); };

  SECTION("its own row, whatever it changes") {
    auto moved = row("n3", member_status::up, 30, 0);
    moved.address = "10.0.0.3:7201";
    CHECK(said({moved}).learned == std::vector<std::string>{"n3"});
    moved.incarnation = 31;
    moved.spec.weight = 3;
    moved.status = member_status::leaving;
    auto out = said({moved});
    CHECK(out.overreached.empty());
    CHECK(*here.find("n3") == moved);
  }
  SECTION("a member new here: a cluster learns of a node through its seeds") {
    auto out = said({row("n5", member_status::up, 50, 0)});
    CHECK(out.learned == std::vector<std::string>{"n5"});
    CHECK(out.overreached.empty());
  }
  SECTION("another's heartbeat at the incarnation held here") {
    auto out = said({row("n2", member_status::up, 20, 9)});
    CHECK(out.advanced == std::vector<std::string>{"n2"});
    CHECK(here.find("n2")->heartbeat == 9);
  }
  SECTION("another member down, or removed") {
    CHECK(said({row("n2", member_status::down, 20, 5)}).changed);
    CHECK(here.find("n2")->status == member_status::down);
    CHECK(said({row("n2", member_status::removed, 1, 0)}).changed);
    CHECK(here.find("n2")->status == member_status::removed);
  }
  SECTION("not another's new incarnation, address, placement or status") {
    auto before = here.entries();
    auto moved = row("n2", member_status::up, 20, 6);
    moved.address = "10.6.6.6:7201";  // where the speaker would have the others dial
    auto heavier = row("n2", member_status::up, 20, 6);
    heavier.spec.weight = 1000;  // all of the ring on n2
    auto out = said({row("n2", member_status::up, 21, 0), moved, heavier});
    CHECK(out.overreached == std::vector<std::string>{"n2", "n2", "n2"});
    CHECK(said({row("n2", member_status::leaving, 20, 5)}).overreached.size() == 1);
    // A leaving member goes silent without being down (mark_down's rule), from anyone.
    CHECK(said({row("n4", member_status::down, 40, 1)}).overreached.size() == 1);
    CHECK_FALSE(out.changed);
    CHECK(here.entries() == before);
  }
  SECTION("not a down member brought back: only its refutation, from itself") {
    REQUIRE(here.mark_down("n2"));
    CHECK(said({row("n2", member_status::up, 21, 0)}).overreached.size() == 1);
    CHECK(here.find("n2")->status == member_status::down);
    auto out = here.merge_said_by("n2", {row("n2", member_status::up, 21, 0)});
    CHECK(out.revived == std::vector<std::string>{"n2"});
  }
  SECTION("nobody's word with no speaker: rows about others only as relays") {
    auto out = here.merge_said_by("", {row("n2", member_status::up, 21, 0)});
    CHECK(out.overreached == std::vector<std::string>{"n2"});
  }
}
