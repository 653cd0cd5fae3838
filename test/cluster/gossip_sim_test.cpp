// Gossip at scale, simulated: member tables exchanged push-pull in rounds, no actors, no clock.
// Prints how many rounds a rumour and a whole cluster's tables take to converge.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <random>

#include "cluster/members.hpp"

using namespace kv::cluster;

namespace {

std::string id_of(size_t i) {
  return "m" + std::to_string(i);
}

member_entry member(size_t i) {
  member_entry e;
  e.spec = {id_of(i), "r" + std::to_string(i % 3), "dc1", 1};
  e.address = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":7101";
  e.incarnation = 1000 + i;
  return e;
}

struct simulation {
  std::vector<member_table> tables;
  std::vector<std::vector<size_t>> known;  // whom each member can pick, as learned
  std::mt19937_64 rng{20261122};

  // Every member knows itself and `contacts(i)` members.
  template <class Contacts>
  simulation(size_t n, Contacts contacts) {
    for (size_t i = 0; i < n; ++i) tables.emplace_back(member(i));
    for (size_t i = 0; i < n; ++i)
      for (size_t j : contacts(i)) tables[i].merge(std::vector<member_entry>{member(j)});
  }

  // One round: each member, in turn, exchanges tables both ways with one member it knows.
  void round() {
    for (size_t i = 0; i < tables.size(); ++i) {
      const auto& rows = tables[i].rows();
      if (rows.size() < 2) continue;
      auto pick = std::uniform_int_distribution<size_t>{0, rows.size() - 2}(rng);
      auto it = rows.begin();
      std::advance(it, pick);
      if (it->first == tables[i].self_id()) ++it;
      size_t j = std::stoul(it->first.substr(1));
      tables[j].merge_from(tables[i]);
      tables[i].merge_from(tables[j]);
    }
  }

  bool all_equal() const {
    for (auto& t : tables)
      if (t.rows() != tables.front().rows()) return false;
    return true;
  }

  size_t holding(const std::string& id, member_status s) const {
    size_t result = 0;
    for (auto& t : tables)
      if (auto row = t.find(id); row && row->status == s) ++result;
    return result;
  }
};

}  // namespace

TEST_CASE("a rumour reaches every member in a number of rounds that grows like log N", "[gossip]") {
  for (size_t n : {10, 100, 1000}) {
    // Everyone knows everyone; one member starts to leave and says so.
    simulation sim{n, [n](size_t i) {
                     std::vector<size_t> all;
                     for (size_t j = 0; j < n; ++j)
                       if (j != i) all.push_back(j);
                     return all;
                   }};
    sim.tables[0].set_self_status(member_status::leaving);
    size_t rounds = 0;
    while (sim.holding(id_of(0), member_status::leaving) < n && rounds < 100) {
      sim.round();
      ++rounds;
    }
    double log_n = std::log2(static_cast<double>(n));
    std::cout << "gossip rumour, fanout 1 push-pull: N=" << n << " reached every member in "
              << rounds << " rounds (log2 N = " << log_n << ")\n";
    CHECK(rounds <= std::ceil(log_n) + 2);
  }
}

TEST_CASE("a member declared down refutes it as soon as the word reaches it", "[gossip]") {
  size_t n = 100;
  simulation sim{n, [n](size_t i) {
                   std::vector<size_t> all;
                   for (size_t j = 0; j < n; ++j)
                     if (j != i) all.push_back(j);
                   return all;
                 }};
  REQUIRE(sim.tables[0].mark_down(id_of(n - 1)));
  size_t rounds = 0;
  while (sim.holding(id_of(n - 1), member_status::up) < n && rounds < 100) {
    sim.round();
    ++rounds;
  }
  std::cout << "gossip: a false down among " << n << " members refuted everywhere after " << rounds
            << " rounds\n";
  CHECK(sim.tables[n - 1].self().incarnation == 1000 + n);  // one refutation, one increment
  CHECK(rounds <= 2 * std::ceil(std::log2(n)) + 2);
  CHECK(sim.holding(id_of(n - 1), member_status::down) == 0);
}

TEST_CASE("members that each know one seed converge to one table in about log N rounds",
          "[gossip]") {
  for (size_t n : {10, 100, 1000}) {
    // Each member knows only the one before it (member 0 knows nobody): a chain of seeds.
    simulation sim{
        n, [](size_t i) { return i == 0 ? std::vector<size_t>{} : std::vector<size_t>{i - 1}; }};
    size_t rounds = 0;
    while (!sim.all_equal() && rounds < 200) {
      sim.round();
      ++rounds;
    }
    double log_n = std::log2(static_cast<double>(n));
    std::cout << "gossip convergence from a chain of seeds: N=" << n << " one table after "
              << rounds << " rounds (log2 N = " << log_n << "), "
              << sim.tables.front().rows().size() << " members each\n";
    CHECK(sim.tables.front().rows().size() == n);
    CHECK(rounds <= 2 * std::ceil(log_n) + 2);
  }
}
