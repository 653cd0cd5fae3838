#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "caf/error.hpp"
#include "cluster/handoff.hpp"
#include "messages/errc.hpp"

using namespace kv::cluster;

namespace {

std::vector<member_spec> members(std::vector<std::string> ids) {
  std::vector<member_spec> result;
  for (auto& id : ids) result.push_back({id, "r1", "dc1", 1});
  return result;
}

ring_options q(uint32_t partitions) {
  ring_options opts;
  opts.partitions = partitions;
  return opts;
}

// The ring of members that can be placed; the test stops if they cannot.
ring placed(std::vector<member_spec> members, ring_options opts) {
  auto r = ring::make(std::move(members), opts);
  INFO((r ? std::string{} : kv::message_of(r.error())));
  REQUIRE(static_cast<bool>(r));
  return std::move(*r);
}

}  // namespace

TEST_CASE("a join: every old holder sends to the newcomer what it now holds, nobody else moves",
          "[handoff]") {
  ring before = placed(members({"a", "b", "c", "d"}), q(256));
  ring after = placed(members({"a", "b", "c", "d", "e"}), q(256));
  std::map<uint32_t, std::set<std::string>> senders;
  uint32_t drops = 0;
  for (std::string self : {"a", "b", "c", "d"}) {
    auto plan = plan_handoff(before, after, 3, self);
    for (auto& t : plan.sends) {
      CHECK(t.target == "e");
      CHECK(holds(before, t.partition, 3, self));
      senders[t.partition].insert(self);
    }
    for (auto p : plan.drops) {
      CHECK_FALSE(holds(after, p, 3, self));
      CHECK(holds(after, p, 3, "e"));  // it was displaced by the newcomer
      ++drops;
    }
  }
  CHECK(plan_handoff(before, after, 3, "e").sends.empty());  // it held nothing
  // Every partition e now holds is sent by all three of its old holders.
  uint32_t e_holds = 0;
  for (uint32_t p = 0; p < 256; ++p) {
    if (!holds(after, p, 3, "e")) continue;
    ++e_holds;
    CHECK(senders[p].size() == 3);
  }
  CHECK(senders.size() == e_holds);
  CHECK(drops == e_holds);  // one displaced holder per partition e joined
}

TEST_CASE("a removal or a leave: the lists it was in gain the next member, sent by the rest",
          "[handoff]") {
  ring before = placed(members({"a", "b", "c", "d", "e"}), q(64));
  ring after = placed(members({"a", "b", "c", "d"}), q(64));
  auto gone = plan_handoff(before, after, 3, "e");
  CHECK(gone.sends.size() == gone.drops.size());  // what it held goes to exactly one new holder
  for (auto p : gone.drops) CHECK(holds(before, p, 3, "e"));
  for (std::string self : {"a", "b", "c", "d"}) {
    auto plan = plan_handoff(before, after, 3, self);
    CHECK(plan.drops.empty());
    for (auto& t : plan.sends) {
      CHECK(holds(before, t.partition, 3, "e"));
      CHECK_FALSE(holds(before, t.partition, 3, t.target));
      CHECK(holds(after, t.partition, 3, t.target));
    }
  }
}

TEST_CASE("no change of placement, no handoff", "[handoff]") {
  ring r = placed(members({"a", "b", "c"}), q(16));
  auto plan = plan_handoff(r, r, 3, "a");
  CHECK(plan.sends.empty());
  CHECK(plan.drops.empty());
}
