#include "storage/disk_reserve.hpp"

#include <catch2/catch.hpp>

using namespace kv::storage;

namespace {

constexpr uint64_t mib = uint64_t{1} << 20;

}  // namespace

TEST_CASE("the first look at the disk is always due", "[disk_reserve]") {
  disk_reserve r{{16 * mib, 100, 0}};
  CHECK(r.due(0));
  CHECK_FALSE(r.short_of_space());
}

TEST_CASE("a disk with less free space than the reserve is short, and recovers once freed",
          "[disk_reserve]") {
  disk_reserve r{{16 * mib, 100, 0}};
  CHECK(r.record(100 * mib, 0) == disk_change::none);
  CHECK(r.record(16 * mib, 200) == disk_change::none);  // exactly the reserve is enough
  CHECK(r.record(16 * mib - 1, 400) == disk_change::became_short);
  CHECK(r.short_of_space());
  CHECK(r.free_bytes() == 16 * mib - 1);
  CHECK(r.record(1 * mib, 600) == disk_change::none);
  CHECK(r.record(20 * mib, 800) == disk_change::recovered);
  CHECK_FALSE(r.short_of_space());
}

TEST_CASE("a probe is trusted for its interval, in time and in bytes written", "[disk_reserve]") {
  disk_reserve r{{16 * mib, 100, 4 * mib}};
  r.record(100 * mib, 1000);
  CHECK_FALSE(r.due(1000));
  CHECK_FALSE(r.due(1099));
  CHECK(r.due(1100));
  SECTION("bytes") {
    r.wrote(4 * mib - 1);
    CHECK_FALSE(r.due(1050));
    r.wrote(1);
    CHECK(r.due(1050));
    r.record(96 * mib, 1050);
    CHECK_FALSE(r.due(1050));  // a probe starts the count again
  }
  SECTION("a clock that went back") {
    CHECK(r.due(999));
  }
}

TEST_CASE("while short, every look probes again, so recovery is seen at once", "[disk_reserve]") {
  disk_reserve r{{16 * mib, 100, 0}};
  r.record(1 * mib, 1000);
  CHECK(r.due(1000));
  CHECK(r.record(32 * mib, 1000) == disk_change::recovered);
  CHECK_FALSE(r.due(1000));
}

TEST_CASE("without a reserve, the disk is never short", "[disk_reserve]") {
  disk_reserve r{{0, 100, 0}};
  CHECK(r.record(0, 0) == disk_change::none);
  CHECK_FALSE(r.short_of_space());
}

TEST_CASE("the byte interval defaults to an eighth of the reserve, within 64 KiB and 8 MiB",
          "[disk_reserve]") {
  auto due_after = [](uint64_t reserve, uint64_t written) {
    disk_reserve r{{reserve, 1000000, 0}};
    r.record(reserve * 2 + mib, 0);
    r.wrote(written);
    return r.due(0);
  };
  CHECK_FALSE(due_after(16 * mib, 2 * mib - 1));
  CHECK(due_after(16 * mib, 2 * mib));
  CHECK(due_after(1024 * mib, 8 * mib));
  CHECK_FALSE(due_after(1024 * mib, 8 * mib - 1));
  CHECK(due_after(0, 64 << 10));
}

TEST_CASE("sizes are written in MiB with two decimals, rounded down", "[disk_reserve]") {
  CHECK(format_bytes(0) == "0.00 MiB");
  CHECK(format_bytes(256 * mib) == "256.00 MiB");
  CHECK(format_bytes(mib + mib / 2) == "1.50 MiB");
  CHECK(format_bytes(16 * mib - 1) == "15.99 MiB");
}
