#include <catch2/catch.hpp>

#include "caf/error.hpp"
#include "cluster/consistency.hpp"
#include "messages/errc.hpp"

using namespace kv::cluster;

namespace {

namespace_config ns3() {
  namespace_config ns;
  ns.name = "default";
  ns.n = 3;
  return ns;
}

kv::errc code(const caf::expected<quorum_plan>& x) {
  return x ? kv::errc::none : kv::code_of(x.error());
}

}  // namespace

TEST_CASE("without options a request uses the namespace's quorum", "[consistency]") {
  auto read = plan_read(ns3(), {});
  REQUIRE(read);
  CHECK(read->n == 3);
  CHECK(read->required == 2);
  auto ns = ns3();
  ns.w = 3;
  auto write = plan_write(ns, {});
  REQUIRE(write);
  CHECK(write->required == 3);
}

TEST_CASE("named levels map to numbers of replicas", "[consistency]") {
  CHECK(plan_read(ns3(), {0, 0, 0, level::one})->required == 1);
  CHECK(plan_read(ns3(), {0, 0, 0, level::quorum})->required == 2);
  CHECK(plan_read(ns3(), {0, 0, 0, level::all})->required == 3);
  auto local = plan_write(ns3(), {0, 0, 0, level::local_quorum});
  CHECK(local->required == 2);
  CHECK(local->local);
  CHECK(plan_write(ns3(), {2, 0, 0, level::all})->required == 2);
}

TEST_CASE("r or w above n is an error, never clamped", "[consistency]") {
  CHECK(code(plan_read(ns3(), {0, 4, 0, level::unset})) == kv::errc::invalid_argument);
  CHECK(code(plan_write(ns3(), {2, 0, 3, level::unset})) == kv::errc::invalid_argument);
  auto err = plan_write(ns3(), {1, 0, 2, level::unset});
  REQUIRE_FALSE(err);
  CHECK(kv::message_of(err.error()) == "w=2 is greater than n=1");
}

TEST_CASE("n above the namespace's replicas is an error", "[consistency]") {
  CHECK(code(plan_read(ns3(), {4, 0, 0, level::unset})) == kv::errc::invalid_argument);
}

TEST_CASE("a level together with a number is an error", "[consistency]") {
  CHECK(code(plan_read(ns3(), {0, 1, 0, level::one})) == kv::errc::invalid_argument);
  CHECK(code(plan_write(ns3(), {0, 0, 2, level::all})) == kv::errc::invalid_argument);
}

TEST_CASE("level names parse and print", "[consistency]") {
  for (auto lvl : {level::one, level::quorum, level::all, level::local_quorum})
    CHECK(parse_level(to_string(lvl)) == lvl);
  CHECK_FALSE(parse_level("ALL"));
  CHECK_FALSE(parse_level(""));
}

TEST_CASE("namespace definitions are validated", "[consistency]") {
  CHECK_FALSE(validate(ns3()));
  auto ns = ns3();
  ns.n = 0;
  CHECK(validate(ns));
  ns = ns3();
  ns.r = 4;
  CHECK(validate(ns));
  ns = ns3();
  ns.name = "";
  CHECK(validate(ns));
}
