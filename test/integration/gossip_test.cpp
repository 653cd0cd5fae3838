// Gossip and failure detection with real processes: five nodes find each other, see a killed
// node go down within the bound and come back up when it restarts; a node started with one seed
// is learned by every member.
#include <iostream>

#include "test/integration/cluster_support.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv::test::cluster_support;

namespace {

// For every node in `watchers`, how long after `start` it first reported `id` in `state`;
// polls them in turn until all did or `bound` passed (missing ones are absent from the result).
std::map<std::string, milliseconds> time_until_all_see(
    cluster& c, const std::vector<std::string>& watchers, const std::string& id,
    const std::string& state, steady::time_point start, milliseconds bound) {
  std::map<std::string, milliseconds> seen;
  while (seen.size() < watchers.size() && since(start) < bound) {
    for (auto& w : watchers)
      if (!seen.count(w) && member_states(c.at(w))[id] == state) seen[w] = since(start);
    std::this_thread::sleep_for(20ms);
  }
  return seen;
}

std::string describe(const std::map<std::string, milliseconds>& seen) {
  std::string result;
  for (auto& [id, t] : seen)
    result += (result.empty() ? "" : ", ") + id + " " + std::to_string(t.count()) + " ms";
  return result;
}

milliseconds slowest(const std::map<std::string, milliseconds>& seen) {
  milliseconds result{0};
  for (auto& [id, t] : seen) result = std::max(result, t);
  return result;
}

}  // namespace

TEST_CASE("every survivor of five marks a killed node down within 5 s, and up once it restarts",
          "[integration][gossip]") {
  kv::test::temp_dir dir;
  cluster c{dir.str(), 5};
  const std::vector<std::string> survivors{"n1", "n2", "n4", "n5"};
  for (auto& id : survivors)
    REQUIRE(wait_until(5s, [&] { return member_states(c.at(id))["n3"] == "up"; }));

  auto killed_at = steady::now();
  c.kill("n3");
  auto down = time_until_all_see(c, survivors, "n3", "down", killed_at, 10s);
  INFO(describe(down));
  CHECK(down.size() == survivors.size());
  CHECK(slowest(down) <= 5s);

  auto restarted_at = steady::now();
  c.restart({"n3"});
  std::vector<std::string> everyone{"n1", "n2", "n3", "n4", "n5"};
  auto up = time_until_all_see(c, everyone, "n3", "up", restarted_at, 10s);
  INFO(describe(up));
  CHECK(up.size() == everyone.size());
  // And n3 sees everyone up again.
  CHECK(wait_until(5s, [&] {
    auto s = member_states(c.at("n3"));
    return s == states{{"n1", "up"}, {"n2", "up"}, {"n3", "up"}, {"n4", "up"}, {"n5", "up"}};
  }));
  std::cout << "failure detection, 5 nodes, n3 SIGKILLed: down at " << describe(down)
            << "; restarted, up at " << describe(up) << "\n";
}

TEST_CASE("a node started with one seed is learned by every member through gossip",
          "[integration][gossip]") {
  kv::test::temp_dir dir;
  cluster c{dir.str(), 3};
  auto started = steady::now();
  // n4 knows only n2; n1 and n3 never hear of it but through gossip.
  node n4{dir.str(), std::vector<std::string>{"--seeds", c[1].address()}, "n4"};
  auto ready = since(started);
  auto everywhere = wait_until(5s, [&] {
    for (size_t i = 0; i < c.size(); ++i)
      if (member_states(c[i])["n4"] != "up") return false;
    return member_states(n4).size() == 4;
  });
  REQUIRE(everywhere);
  // Each node's ring now places the newcomer: its share is shown in status.
  auto doc = parse_json(kvctl(c[0], {"--json", "status"}));
  uint32_t n4_replicas = 0, total = 0;
  for (auto& m : doc["members"].items) {
    total += static_cast<uint32_t>(std::stoul(m["replicas"].text));
    if (m["id"].text == "n4") n4_replicas = static_cast<uint32_t>(std::stoul(m["replicas"].text));
  }
  CHECK(total == 3 * 256);
  CHECK(n4_replicas > 0);
  auto text = kvctl(c[0], {"status"});
  CHECK(text.out.find("REPLICAS") != std::string::npos);
  CHECK(text.out.find(" self\n") != std::string::npos);  // n1's own row
  CHECK(text.out.find("s ago\n") != std::string::npos);  // when the others were last heard
  std::cout << "join through one seed: n4 ready in " << ready.count()
            << " ms, known to all four members " << everywhere->count() << " ms later, "
            << n4_replicas << " of " << total << " replicas placed on it\n";
}

TEST_CASE("a frozen node (SIGSTOP, its sockets open) is marked down by silence and up when thawed",
          "[integration][gossip]") {
  kv::test::temp_dir dir;
  cluster c{dir.str(), 5};
  const std::vector<std::string> others{"n1", "n2", "n3", "n5"};
  for (auto& id : others)
    REQUIRE(wait_until(5s, [&] { return member_states(c.at(id))["n4"] == "up"; }));
  std::map<std::string, milliseconds> down, up;
  {
    auto frozen_at = steady::now();
    frozen f{c.at("n4")};
    down = time_until_all_see(c, others, "n4", "down", frozen_at, 10s);
    INFO(describe(down));
    CHECK(down.size() == others.size());
    // Silent for suspect_after (2 s), then agreed within a round or two.
    CHECK(slowest(down) >= 2s);
    CHECK(slowest(down) <= 5s);
    auto thawed_at = steady::now();
    f.thaw();
    up = time_until_all_see(c, others, "n4", "up", thawed_at, 10s);
    INFO(describe(up));
    CHECK(up.size() == others.size());
  }
  std::cout << "failure detection, 5 nodes, n4 SIGSTOPped: down at " << describe(down)
            << "; SIGCONT, up at " << describe(up) << "\n";
}
