#include "storage/identity.hpp"

#include <catch2/catch.hpp>

#include "messages/errc.hpp"
#include "storage/engine.hpp"
#include "test/support/temp_dir.hpp"

namespace kv::storage {
namespace {

using kv::test::temp_dir;

constexpr int64_t now = 1700000000000;  // 2023-11-14, "loyw3v28" in base 36

std::unique_ptr<engine> open_engine(const temp_dir& dir) {
  engine_options options;
  options.path = dir.str();
  auto db = engine::open(options);
  if (!db) FAIL(describe(db.error()));
  return std::move(*db);
}

identity start(engine& db, std::string_view node_id, uint32_t partitions, int64_t now_ms) {
  auto id = start_incarnation(db, node_id, partitions, now_ms);
  if (!id) FAIL(describe(id.error()));
  return *id;
}

}  // namespace

TEST_CASE("a new data directory takes the node's identity and an epoch from the clock",
          "[identity]") {
  temp_dir dir;
  auto db = open_engine(dir);
  auto id = start(*db, "n1", 256, now);
  CHECK(id.created);
  CHECK(id.node_id == "n1");
  CHECK(id.partitions == 256);
  CHECK(id.epoch == uint64_t{now});
  CHECK(id.actor == "n1.loyw3v28");
}

TEST_CASE("every start takes a strictly greater epoch, even when the clock went back",
          "[identity]") {
  temp_dir dir;
  uint64_t first = 0;
  {
    auto db = open_engine(dir);
    first = start(*db, "n1", 256, now).epoch;
  }
  auto db = open_engine(dir);  // the epoch was stored synced, so a reopen finds it

  SECTION("clock moved forward") {
    auto id = start(*db, "n1", 256, now + 5000);
    CHECK_FALSE(id.created);
    CHECK(id.epoch == uint64_t{now + 5000});
  }
  SECTION("clock unchanged or moved back") {
    auto second = start(*db, "n1", 256, now);
    auto third = start(*db, "n1", 256, now - 60000);
    CHECK(second.epoch == first + 1);
    CHECK(third.epoch == first + 2);
    CHECK(third.actor == "n1." + base36(first + 2));
  }
  SECTION("clock before 1970") {
    CHECK(start(*db, "n1", 256, -1).epoch == first + 1);
  }
}

TEST_CASE("a running node's renewed incarnation is stored, so no later start reuses it",
          "[identity]") {
  temp_dir dir;
  identity id;
  {
    auto db = open_engine(dir);
    id = start(*db, "n1", 256, now);
    REQUIRE_FALSE(renew_incarnation(*db, id, now));  // the clock has not moved
    CHECK(id.epoch == uint64_t{now} + 1);
    CHECK(id.actor == "n1." + base36(uint64_t{now} + 1));
  }
  auto db = open_engine(dir);
  CHECK(start(*db, "n1", 256, now).epoch == uint64_t{now} + 2);
}

TEST_CASE("a data directory of another node is refused", "[identity]") {
  temp_dir dir;
  auto db = open_engine(dir);
  start(*db, "n1", 256, now);
  auto other = start_incarnation(*db, "n2", 256, now);
  REQUIRE_FALSE(other);
  CHECK(code_of(other.error()) == errc::invalid_argument);
  CHECK(message_of(other.error()) == "data directory " + dir.str() + " belongs to node n1, not n2");
}

TEST_CASE("a data directory made with another partition count is refused", "[identity]") {
  temp_dir dir;
  auto db = open_engine(dir);
  start(*db, "n1", 256, now);
  auto other = start_incarnation(*db, "n1", 1024, now);
  REQUIRE_FALSE(other);
  CHECK(code_of(other.error()) == errc::invalid_argument);
  CHECK(message_of(other.error()) == "data directory " + dir.str() +
                                         " was created with 256 partitions; this node is "
                                         "configured with 1024");
}

TEST_CASE("a data directory of another storage format is refused", "[identity]") {
  temp_dir dir;
  auto db = open_engine(dir);
  start(*db, "n1", 256, now);
  write_batch batch;
  batch.put(column::meta, "format", "2");
  REQUIRE_FALSE(db->write(batch, true));
  auto other = start_incarnation(*db, "n1", 256, now);
  REQUIRE_FALSE(other);
  CHECK(code_of(other.error()) == errc::invalid_argument);
  CHECK(message_of(other.error()) ==
        "data directory " + dir.str() + " has storage format 2; this build reads format 1");
}

TEST_CASE("damaged identity metadata is an internal error naming the key", "[identity]") {
  temp_dir dir;
  auto db = open_engine(dir);
  start(*db, "n1", 256, now);
  write_batch batch;
  SECTION("not a number") {
    batch.put(column::meta, "epoch", "12x");
  }
  SECTION("missing") {
    batch.erase(column::meta, "epoch");
  }
  REQUIRE_FALSE(db->write(batch, true));
  auto damaged = start_incarnation(*db, "n1", 256, now);
  REQUIRE_FALSE(damaged);
  CHECK(code_of(damaged.error()) == errc::internal);
  CHECK_THAT(message_of(damaged.error()), Catch::Contains("meta key epoch"));
}

TEST_CASE("base 36 uses the digits 0-9 and a-z", "[identity]") {
  CHECK(base36(0) == "0");
  CHECK(base36(35) == "z");
  CHECK(base36(36) == "10");
  CHECK(base36(uint64_t{now}) == "loyw3v28");
  CHECK(base36(UINT64_MAX) == "3w5e11264sgsf");
}

}  // namespace kv::storage
