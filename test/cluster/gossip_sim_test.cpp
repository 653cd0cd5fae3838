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
      tell(i, j);
      tell(j, i);
    }
  }

  // Member `to` takes in the table of member `from` as from's own word (another member's rows
  // only as relays, cluster/members.hpp). A member whose own word changed because of it (it
  // refuted a down) tells everyone it knows at once, as the gossip actor does.
  void tell(size_t from, size_t to) {
    if (tables[to].merge_said_by(tables[from]).refuted) tell_everyone(to);
  }

  void tell_everyone(size_t i) {
    std::vector<size_t> others;
    for (auto& [id, row] : tables[i].rows())
      if (id != tables[i].self_id()) others.push_back(std::stoul(id.substr(1)));
    for (size_t j : others) tell(i, j);
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

std::vector<size_t> everyone_but(size_t i, size_t n) {
  std::vector<size_t> all;
  for (size_t j = 0; j < n; ++j)
    if (j != i) all.push_back(j);
  return all;
}

}  // namespace

TEST_CASE("a rumour reaches every member in a number of rounds that grows like log N", "[gossip]") {
  for (size_t n : {10, 100, 1000}) {
    // Everyone knows everyone; an operator removes the last member through the first.
    simulation sim{n, [n](size_t i) { return everyone_but(i, n); }};
    REQUIRE(sim.tables[0].mark_removed(id_of(n - 1)));
    size_t rounds = 0;
    while (sim.holding(id_of(n - 1), member_status::removed) < n && rounds < 100) {
      sim.round();
      ++rounds;
    }
    double log_n = std::log2(static_cast<double>(n));
    std::cout << "gossip rumour (a removal), fanout 1 push-pull: N=" << n
              << " reached every member in " << rounds << " rounds (log2 N = " << log_n << ")\n";
    CHECK(rounds <= std::ceil(log_n) + 2);
  }
}

TEST_CASE("a member declared down refutes it as soon as the word reaches it", "[gossip]") {
  size_t n = 100;
  simulation sim{n, [n](size_t i) { return everyone_but(i, n); }};
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

TEST_CASE("a member's own change reaches every member at once, told by itself", "[gossip]") {
  size_t n = 100;
  simulation sim{n, [n](size_t i) { return everyone_but(i, n); }};
  sim.tables[0].set_self_status(member_status::leaving);
  // Relayed, a new incarnation is held back: it spreads only from the member's own mouth.
  sim.tell(0, 1);
  sim.tell(1, 2);
  CHECK(sim.holding(id_of(0), member_status::leaving) == 2);
  sim.tell_everyone(0);
  CHECK(sim.holding(id_of(0), member_status::leaving) == n);
}

TEST_CASE("a member's lie about another does not spread, and its victim's refutation undoes it",
          "[gossip]") {
  size_t n = 50;
  simulation sim{n, [n](size_t i) { return everyone_but(i, n); }};
  // Member 1 (a valid certificate, a broken or hostile node) moves member 2 to its own address,
  // at a higher incarnation so that it would win every merge.
  auto forged = *sim.tables[1].find(id_of(2));
  forged.address = "10.6.6.6:7201";
  forged.incarnation += 1;
  sim.tables[1].merge({forged});
  auto believers = [&] {
    size_t result = 0;
    for (size_t i = 0; i < n; ++i)
      if (i != 1 && sim.tables[i].find(id_of(2))->address == forged.address) ++result;
    return result;
  };
  size_t rounds = 0, worst = 0;
  while (!sim.all_equal() && rounds < 200) {
    sim.round();
    ++rounds;
    worst = std::max(worst, believers());
  }
  std::cout << "gossip: a forged row about a member believed by " << worst << " of " << n - 1
            << " others; one table again after " << rounds << " rounds\n";
  CHECK(worst == 0);
  CHECK(sim.all_equal());
  CHECK(sim.tables[2].find(id_of(2))->address == member(2).address);
}
