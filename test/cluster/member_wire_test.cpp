#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "caf/error.hpp"
#include "cluster/member_wire.hpp"
#include "messages/errc.hpp"

using namespace kv::cluster;
namespace msg = kv::msg;

namespace {

constexpr uint64_t all_ones = ~uint64_t{0};

msg::MemberRow wire_row(const std::string& id, uint32_t weight = 1) {
  msg::MemberRow row;
  auto& m = *row.mutable_member();
  m.set_id(id);
  m.set_address("127.0.0.1:7101");
  m.set_rack("r1");
  m.set_datacenter("dc1");
  m.set_weight(weight);
  m.set_state(msg::MEMBER_UP);
  row.set_incarnation(1);
  row.set_heartbeat(1);
  return row;
}

// The reason the row is refused, or "" if it decodes.
std::string refusal(const msg::MemberRow& row) {
  auto e = decode_row(row);
  return e ? std::string{} : kv::message_of(e.error());
}

std::string refusal(const msg::MemberTable& table) {
  auto t = decode_table(table);
  return t ? std::string{} : kv::message_of(t.error());
}

std::vector<std::string> ids_of(const std::vector<member_entry>& rows) {
  std::vector<std::string> ids;
  for (auto& e : rows) ids.push_back(e.spec.id);
  return ids;
}

msg::MemberTable table_of(size_t rows) {
  msg::MemberTable t;
  t.set_from("n1");
  for (size_t i = 0; i < rows; ++i) *t.add_rows() = wire_row("n" + std::to_string(i));
  return t;
}

// A row that is often well-formed and sometimes breaks one bound, from `rng`.
msg::MemberRow random_row(std::mt19937_64& rng) {
  auto pick = [&](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>{lo, hi}(rng);
  };
  auto row = wire_row("m" + std::to_string(pick(0, 30)), static_cast<uint32_t>(pick(1, 1000)));
  auto& m = *row.mutable_member();
  m.set_rack("r" + std::to_string(pick(0, 3)));
  m.set_datacenter("dc" + std::to_string(pick(0, 2)));
  m.set_state(static_cast<msg::MemberState>(pick(1, 5)));
  row.set_incarnation(pick(0, 5));
  row.set_heartbeat(pick(0, 5));
  switch (pick(0, 9)) {
    case 0:
      m.set_weight(static_cast<uint32_t>(pick(0, 1) ? 0 : pick(1001, UINT32_MAX)));
      break;
    case 1:
      row.set_incarnation(pick(max_counter + 1, all_ones));
      break;
    case 2:
      m.set_id(std::string(pick(65, 100), 'x'));
      break;
    case 3:
      m.set_state(static_cast<msg::MemberState>(pick(0, 1) ? 0 : pick(6, 1000)));
      break;
    default:
      break;  // most rows are fine
  }
  return row;
}

}  // namespace

TEST_CASE("a row within every bound decodes to the entry it was encoded from", "[member_wire]") {
  member_entry e;
  e.spec = {"n-1_a", "rack.1", "dc-east", 1000};
  e.address = "[::1]:7101";
  e.status = member_status::leaving;
  e.incarnation = max_counter;
  e.heartbeat = max_counter;
  msg::MemberRow row;
  encode_row(e, row);
  auto back = decode_row(row);
  REQUIRE(back);
  CHECK(*back == e);
  CHECK_FALSE(check_entry(e));
}

TEST_CASE("rows with a weight outside 1..1000 are refused and the good rows still merge",
          "[member_wire]") {
  msg::MemberTable t;
  t.set_from("n2");
  *t.add_rows() = wire_row("n2");
  for (uint32_t w : {0u, 1001u, 1u << 22, 4194303u})
    *t.add_rows() = wire_row("w" + std::to_string(w), w);
  *t.add_rows() = wire_row("n3", 1000);
  auto decoded = decode_table(t);
  REQUIRE(decoded);
  CHECK(ids_of(decoded->rows) == std::vector<std::string>{"n2", "n3"});
  REQUIRE(decoded->refused.size() == 4);
  CHECK(decoded->refused[0].reason == "weight 0 is outside 1..1000");
  CHECK(decoded->refused[1].reason == "weight 1001 is outside 1..1000");
  CHECK(decoded->refused[2].id == "w4194304");
  CHECK(decoded->refused[2].reason == "weight 4194304 is outside 1..1000");
  CHECK(decoded->refused[3].reason == "weight 4194303 is outside 1..1000");
  // What was taken in can be placed at the default options (weight 2^22 could not).
  member_table table{*decode_row(wire_row("n1"))};
  table.merge(decoded->rows);
  auto r = ring::make(table.placement());
  REQUIRE(r);
  CHECK(r->members().size() == 3);
}

TEST_CASE("incarnations and heartbeats above 2^62 - 1 are refused", "[member_wire]") {
  auto row = wire_row("n2");
  row.set_incarnation(max_counter);
  row.set_heartbeat(max_counter);
  CHECK(refusal(row).empty());
  row.set_incarnation(all_ones);
  CHECK(refusal(row) == "incarnation 18446744073709551615 is above 4611686018427387903");
  row.set_incarnation(1);
  row.set_heartbeat(max_counter + 1);
  CHECK(refusal(row) == "heartbeat 4611686018427387904 is above 4611686018427387903");
}

TEST_CASE("ids are 1 to 64 letters, digits, '-' and '_'", "[member_wire]") {
  CHECK(refusal(wire_row(std::string(64, 'a'))).empty());
  CHECK(refusal(wire_row("Node_7-b")).empty());
  CHECK(refusal(wire_row("")) == "id is empty");
  CHECK(refusal(wire_row(std::string(65, 'a'))) == "id is 65 bytes; at most 64");
  CHECK(refusal(wire_row(std::string(1 << 20, 'a'))) == "id is 1048576 bytes; at most 64");
  for (const std::string& bad : std::vector<std::string>{"n 1", "n/1", "n.1", "n\n1", "n\"1",
                                                         std::string{"n\0", 2}, "n\xc3\xa9"})
    CHECK_THAT(refusal(wire_row(bad)), Catch::Contains("has a character other than letters"));
  CHECK(refusal(wire_row("n\nGossipForged")) ==
        "id 'n?GossipForged' has a character other than letters, digits, '-' and '_'");
}

TEST_CASE("addresses are HOST:PORT of at most 255 bytes", "[member_wire]") {
  for (const std::string& good :
       std::vector<std::string>{"127.0.0.1:7101", "n1:1", "db-3.example.com:65535", "[::1]:7101",
                                "[fe80::1%eth0]:7101", std::string(249, 'h') + ":7101"})
    CHECK_FALSE(check_address(good));
  for (std::string_view bad : {"", "127.0.0.1", ":7101", "h:", "h:0", "h:65536", "h:123456", "h:p",
                               "::1:7101", "[::1:7101", "h h:1", "h:1 ", "h\n:1", "[]:1"})
    CHECK(check_address(bad));
  CHECK(kv::message_of(check_address(std::string(252, 'h') + ":7101")) ==
        "address is 257 bytes; at most 255");
  auto row = wire_row("n2");
  row.mutable_member()->set_address("127.0.0.1");
  CHECK(refusal(row) == "address '127.0.0.1' is not HOST:PORT");
}

TEST_CASE("racks and datacenters are 1 to 64 letters, digits, '.', '-' and '_'", "[member_wire]") {
  auto row = wire_row("n2");
  row.mutable_member()->set_rack(std::string(64, 'r'));
  row.mutable_member()->set_datacenter("us-east.1_a");
  CHECK(refusal(row).empty());
  row.mutable_member()->set_rack(std::string(65, 'r'));
  CHECK(refusal(row) == "rack is 65 bytes; at most 64");
  row.mutable_member()->set_rack("");
  CHECK(refusal(row) == "rack is empty");
  row.mutable_member()->set_rack("r1");
  row.mutable_member()->set_datacenter("dc/1");
  CHECK(refusal(row) ==
        "datacenter 'dc/1' has a character other than letters, digits, '.', '-' and '_'");
  row.mutable_member()->set_datacenter(std::string(1000, 'd'));
  CHECK(refusal(row) == "datacenter is 1000 bytes; at most 64");
}

TEST_CASE("a row whose state is not one of the five member states is refused", "[member_wire]") {
  auto row = wire_row("n2");
  for (int state : {1, 2, 3, 4, 5}) {
    row.mutable_member()->set_state(static_cast<msg::MemberState>(state));
    CHECK(refusal(row).empty());
  }
  row.mutable_member()->set_state(msg::MEMBER_UNKNOWN);
  CHECK(refusal(row) == "state 0 is not a member state");
  row.mutable_member()->set_state(static_cast<msg::MemberState>(99));
  CHECK(refusal(row) == "state 99 is not a member state");
}

TEST_CASE("a table of more than 4096 rows or suspects is refused whole", "[member_wire]") {
  CHECK(refusal(table_of(max_members)).empty());
  auto decoded = decode_table(table_of(max_members));
  REQUIRE(decoded);
  CHECK(decoded->rows.size() == max_members);
  CHECK(refusal(table_of(max_members + 1)) ==
        "the table has 4097 rows and 0 suspects; at most 4096 of each");
  auto t = table_of(1);
  for (size_t i = 0; i <= max_members; ++i) t.add_suspects("n" + std::to_string(i));
  CHECK(refusal(t) == "the table has 1 rows and 4097 suspects; at most 4096 of each");
}

TEST_CASE("a malformed sender is refused whole, a malformed suspect is left out", "[member_wire]") {
  auto t = table_of(2);
  t.set_from(std::string(65, 'n'));
  CHECK(refusal(t) == "sender id is 65 bytes; at most 64");
  t.set_from("");  // a stored table names no sender
  CHECK(refusal(t).empty());
  t.set_from("n0");
  t.add_suspects("n1");
  t.add_suspects("n 1");
  auto decoded = decode_table(t);
  REQUIRE(decoded);
  CHECK(decoded->suspects == std::vector<std::string>{"n1"});
  REQUIRE(decoded->refused.size() == 1);
  CHECK(decoded->refused[0].reason ==
        "suspect id 'n?1' has a character other than letters, digits, '-' and '_'");
}

TEST_CASE("bytes that are not a member table are an error, its bytes decode as the table",
          "[member_wire]") {
  CHECK_FALSE(decode_table(std::string_view{"\xff\xff\xff\xff", 4}));
  auto t = table_of(3);
  t.add_suspects("n2");
  auto decoded = decode_table(std::string_view{t.SerializeAsString()});
  REQUIRE(decoded);
  CHECK(decoded->from == "n1");
  CHECK(ids_of(decoded->rows) == std::vector<std::string>{"n0", "n1", "n2"});
  CHECK(decoded->suspects == std::vector<std::string>{"n2"});
}

TEST_CASE("text shown in logs is at most 64 printable bytes", "[member_wire]") {
  CHECK(loggable("n1") == "n1");
  CHECK(loggable("a b\n\"c\\\x7f") == "a?b??c??");
  CHECK(loggable(std::string(100, 'x')) == std::string(64, 'x') + "...");
}

TEST_CASE("any table the decoder accepts can be placed by the ring builder", "[member_wire]") {
  std::mt19937_64 rng{13};
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
  };
  size_t refused = 0, placed = 0;
  for (int i = 0; i < 2000; ++i) {
    msg::MemberTable t;
    t.set_from("m0");
    for (uint32_t r = 0, n = pick(0, 12); r < n; ++r) *t.add_rows() = random_row(rng);
    auto decoded = decode_table(t);
    REQUIRE(decoded);
    refused += decoded->refused.size();
    for (auto& e : decoded->rows) REQUIRE_FALSE(check_entry(e));
    member_table table{*decode_row(wire_row("self"))};
    table.merge(decoded->rows);
    ring_options opts;
    opts.partitions = 1u << pick(0, 6);
    opts.tokens_per_weight = pick(1, 4);
    opts.depth = pick(1, 16);
    auto r = ring::make(table.placement(), opts);
    INFO((r ? std::string{} : kv::message_of(r.error())));
    REQUIRE(r);
    placed += r->members().size();
    for (uint32_t p = 0; p < r->partitions(); ++p)
      REQUIRE(r->order(p).size() == std::min<size_t>(opts.depth, r->members().size()));
  }
  CHECK(refused > 500);
  CHECK(placed > 4000);
}
