#include "storage/causal_context.hpp"

#include <catch2/catch.hpp>

namespace kv::storage {
namespace {

version_vector vv(std::vector<version_vector::entry> entries) {
  return version_vector::from_entries(std::move(entries));
}

}  // namespace

TEST_CASE("a context is normalized: dots sorted, one of each, none its vector covers",
          "[causal_context]") {
  auto c = causal_context::from_parts(vv({{"a", 2, 0}}),
                                      {{"b", 5}, {"a", 1}, {"b", 5}, {"a", 4}, {"c", 0}});
  CHECK(c.dots() == std::vector<dot>{{"a", 4}, {"b", 5}});
  CHECK(c.size() == 3);
  CHECK(to_string(c) == "{a:2} + [a:4, b:5]");
  CHECK(to_string(causal_context{vv({{"a", 2, 0}})}) == "{a:2}");
  CHECK(causal_context{}.empty());
  CHECK_FALSE(causal_context::from_parts({}, {{"a", 1}}).empty());
}

TEST_CASE("a context covers its vector's ranges and its exact dots, nothing in between",
          "[causal_context]") {
  auto c = causal_context::from_parts(vv({{"a", 2, 0}}), {{"a", 4}, {"b", 5}});
  CHECK(c.covers({"a", 1}));
  CHECK(c.covers({"a", 2}));
  CHECK_FALSE(c.covers({"a", 3}));
  CHECK(c.covers({"a", 4}));
  CHECK_FALSE(c.covers({"a", 5}));
  CHECK_FALSE(c.covers({"b", 4}));
  CHECK(c.covers({"b", 5}));
  CHECK_FALSE(c.covers({"c", 1}));
}

TEST_CASE("a context descends another when it covers every event of it", "[causal_context]") {
  auto c = causal_context::from_parts(vv({{"a", 2, 0}}), {{"a", 3}, {"a", 4}, {"b", 5}});
  CHECK(c.descends(vv({{"a", 2, 0}})));
  CHECK(c.descends(vv({{"a", 4, 0}})));  // 1..2 from the vector, 3 and 4 exact
  CHECK_FALSE(c.descends(vv({{"a", 5, 0}})));
  CHECK_FALSE(c.descends(vv({{"b", 5, 0}})));  // b:1..4 are not covered
  CHECK(c.descends(causal_context::from_parts({}, {{"b", 5}, {"a", 1}})));
  CHECK_FALSE(causal_context{vv({{"b", 4, 0}})}.descends(c));
  CHECK(causal_context{vv({{"a", 4, 0}, {"b", 5, 0}})}.descends(c));
  CHECK(c.descends(c));
  CHECK(c.descends({}));
}

TEST_CASE("a merged context covers every event either covered, and nothing else",
          "[causal_context]") {
  auto a = causal_context::from_parts(vv({{"a", 2, 0}}), {{"a", 4}, {"b", 5}});
  auto b = causal_context::from_parts(vv({{"a", 1, 0}, {"b", 5, 0}}), {{"a", 3}, {"c", 2}});
  auto joined = a;
  joined.merge(b);
  CHECK(to_string(joined) == "{a:2, b:5} + [a:3, a:4, c:2]");
  CHECK(joined.descends(a));
  CHECK(joined.descends(b));
  CHECK_FALSE(joined.covers({"a", 5}));
  CHECK_FALSE(joined.covers({"c", 1}));
  auto other_way = b;
  other_way.merge(a);
  CHECK(other_way == joined);
}

}  // namespace kv::storage
