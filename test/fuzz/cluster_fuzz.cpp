// Member tables from peers and from the disk, merged into a node's table, and the ring built
// from what the table then places: it is built or refused, never asserts, never loops.
#include <catch2/catch.hpp>

#include "cluster/member_wire.hpp"
#include "cluster/members.hpp"
#include "cluster/ring.hpp"
#include "test/fuzz/fuzz.hpp"

namespace kv::cluster {
namespace {

member_entry entry(const std::string& id, uint32_t weight, member_status status) {
  member_entry e;
  e.spec = {id, "r" + std::to_string(weight % 3), "dc" + std::to_string(weight % 2), weight};
  e.address = "10.0.0." + std::to_string(weight % 250 + 1) + ":7101";
  e.status = status;
  e.incarnation = weight;
  e.heartbeat = weight * 7;
  return e;
}

std::string table_bytes(const std::vector<member_entry>& rows, std::vector<std::string> suspects) {
  msg::MemberTable table;
  table.set_from("n1");
  for (auto& e : rows) encode_row(e, *table.add_rows());
  for (auto& s : suspects) table.add_suspects(s);
  return table.SerializeAsString();
}

std::vector<std::string> table_seeds() {
  std::vector<std::string> seeds{table_bytes({}, {})};
  seeds.push_back(table_bytes({entry("n1", 1, member_status::up)}, {}));
  seeds.push_back(
      table_bytes({entry("n1", 1, member_status::up), entry("n2", 3, member_status::down),
                   entry("n3", 1000, member_status::joining),
                   entry("n4", 2, member_status::leaving), entry("n5", 1, member_status::removed)},
                  {"n2", "n4"}));
  auto self = entry("n0", 1, member_status::up);
  self.incarnation = max_counter;
  seeds.push_back(table_bytes({self, entry("n9", 999, member_status::up)}, {"n0"}));
  // n1 speaks for itself and over n2 (a higher incarnation, another address and weight).
  seeds.push_back(
      table_bytes({entry("n1", 9, member_status::leaving), entry("n2", 9, member_status::up)}, {}));
  return seeds;
}

// Small rings: the fuzz is about the input checks and the walk, not the token count.
constexpr ring_options fuzz_ring{64, 2, 8};

// Whether the ring was built.
bool check_ring(const std::vector<member_spec>& specs) {
  auto made = ring::make(specs, fuzz_ring);
  if (!made) {
    FUZZ_CHECK(check_placeable(specs, fuzz_ring));
    return false;
  }
  auto members = made->members().size();
  FUZZ_CHECK(members == specs.size());
  for (uint32_t p = 0; p < made->partitions(); ++p) {
    auto& order = made->order(p);
    FUZZ_CHECK(order.size() == std::min<size_t>(fuzz_ring.depth, members));
    for (auto i : order) FUZZ_CHECK(i < members);
  }
  return true;
}

}  // namespace

TEST_CASE(
    "fuzz: member tables decode to checked rows, and the ring from them is built or "
    "refused",
    "[fuzz][member_table]") {
  fuzz::run("member_table", 13101, 500000, table_seeds(), [](std::string_view bytes) {
    auto table = decode_table(bytes);
    if (!table) return;
    fuzz::accepted();
    FUZZ_CHECK(table->rows.size() <= max_members && table->suspects.size() <= max_members);
    for (auto& row : table->rows) {
      FUZZ_CHECK(!check_entry(row));
      msg::MemberRow wire;
      encode_row(row, wire);
      auto again = decode_row(wire);
      FUZZ_CHECK(again && *again == row);
    }
    member_table mine{entry("n0", 1, member_status::up)};
    auto outcome = mine.merge(table->rows);
    for (auto& [id, e] : mine.rows()) {
      FUZZ_CHECK(e.incarnation <= max_counter && e.heartbeat <= max_counter);
    }
    FUZZ_CHECK(mine.rows().size() <= max_members);
    if (outcome.refuted) FUZZ_CHECK(mine.self().status == member_status::up);
    // The same rows as the sender's word, to a table that held two other members: whatever
    // the sender says, they keep their incarnation, address and weight unless removed.
    member_table held{entry("n0", 1, member_status::up)};
    held.merge({entry("n1", 5, member_status::up), entry("n2", 5, member_status::up)});
    held.merge_said_by(table->from, table->rows);
    for (auto id : {"n1", "n2"}) {
      auto* e = held.find(id);
      FUZZ_CHECK(e);
      if (id == table->from || e->status == member_status::removed) continue;
      auto before = entry(id, 5, member_status::up);
      FUZZ_CHECK(e->incarnation == before.incarnation && e->address == before.address &&
                 e->spec.rack == before.spec.rack && e->spec.datacenter == before.spec.datacenter &&
                 e->spec.weight == before.spec.weight);
    }
    static_cast<void>(check_ring(mine.placement()));  // ignored: built or refused, both fine
    static_cast<void>(check_ring(table->rows.empty()
                                     ? std::vector<member_spec>{}
                                     : std::vector<member_spec>{table->rows.front().spec}));
  });
}

TEST_CASE("fuzz: member specs the ring is given directly are placed or refused", "[fuzz][ring]") {
  // Bytes read as a member list with no checks before the ring: ids, racks and weights of any
  // value, so the ring's own checks are what stands between them and an assert or a loop.
  fuzz::run("ring", 13102, 400000, {std::string(24, '\x01'), std::string("n1r1d1\x05n2r1d2\xff")},
            [](std::string_view bytes) {
              std::vector<member_spec> specs;
              for (size_t at = 0; at + 4 <= bytes.size() && specs.size() < 64; at += 4) {
                auto b = [&](size_t i) { return static_cast<unsigned char>(bytes[at + i]); };
                uint32_t weight = b(3) < 8 ? b(3) : uint32_t{b(2)} << (b(3) % 24);
                specs.push_back({std::string(1, char('a' + b(0) % 8)),
                                 std::string(1, char('r' + b(1) % 3)), std::string(b(1) % 2, 'd'),
                                 weight});
              }
              if (check_ring(specs)) fuzz::accepted();
            });
}

}  // namespace kv::cluster
