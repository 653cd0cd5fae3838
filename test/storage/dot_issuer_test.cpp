#include "storage/dot_issuer.hpp"

#include <catch2/catch.hpp>

#include "messages/errc.hpp"

namespace kv::storage {
namespace {

object claiming(const std::string& actor, uint64_t counter) {
  return object::from_parts({}, version_vector::from_entries({{actor, counter, 0}}));
}

}  // namespace

TEST_CASE("the issuer counts from its floor across keys", "[dot_issuer]") {
  dot_issuer issuer{"n1.a", nullptr};
  auto first = issuer.issue(claiming("n1.a", 7));
  REQUIRE(first);
  CHECK(first->id == dot{"n1.a", 8});
  CHECK(first->retired.empty());
  auto other_key = issuer.issue(object{});  // a key that forgot its counters
  REQUIRE(other_key);
  CHECK(other_key->id == dot{"n1.a", 9});
}

TEST_CASE(
    "a context claiming the actor's last plausible counter makes the issuer take a new "
    "incarnation",
    "[dot_issuer]") {
  int renewals = 0;
  dot_issuer issuer{"n1.a", [&renewals]() -> caf::expected<std::string> {
                      return "n1.b" + std::to_string(++renewals);
                    }};
  CHECK(issuer.issue(claiming("n1.a", 5)));
  auto poisoned = claiming("n1.a", UINT64_MAX);
  auto issued = issuer.issue(poisoned);
  REQUIRE(issued);
  CHECK(issued->retired == "n1.a");
  CHECK(issued->id == dot{"n1.b1", 1});
  CHECK(issuer.actor() == "n1.b1");
  CHECK_FALSE(poisoned.context().covers(issued->id));
  // The new actor counts from 1 again and the old one is never used.
  auto next = issuer.issue(object{});
  REQUIRE(next);
  CHECK(next->id == dot{"n1.b1", 2});
  CHECK(renewals == 1);
}

TEST_CASE("an issuer that cannot renew refuses the write instead of reissuing a dot",
          "[dot_issuer]") {
  SECTION("no renewal") {
    dot_issuer issuer{"n1.a", nullptr};
    auto issued = issuer.issue(claiming("n1.a", max_counter - 1));
    REQUIRE_FALSE(issued);
    CHECK(code_of(issued.error()) == errc::internal);
  }
  SECTION("the renewal fails") {
    dot_issuer issuer{"n1.a", []() -> caf::expected<std::string> {
                        return make_error(errc::internal, "disk full");
                      }};
    auto issued = issuer.issue(claiming("n1.a", UINT64_MAX));
    REQUIRE_FALSE(issued);
    CHECK(message_of(issued.error()) == "disk full");
    CHECK(issuer.actor() == "n1.a");
  }
}

}  // namespace kv::storage
