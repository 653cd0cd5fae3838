#include <catch2/catch.hpp>

#include "cluster/quorum.hpp"

using kv::cluster::quorum;
using state = quorum::state;

TEST_CASE("a quorum succeeds once enough replicas answered", "[quorum]") {
  quorum q{3, 2};
  CHECK(q.current() == state::pending);
  CHECK(q.succeed() == state::pending);
  CHECK(q.fail() == state::pending);
  CHECK(q.succeed() == state::succeeded);
  CHECK(q.all_answered());
}

TEST_CASE("a quorum fails as soon as it can no longer be reached", "[quorum]") {
  quorum q{3, 2};
  CHECK(q.fail() == state::pending);
  CHECK(q.fail() == state::failed);
  CHECK_FALSE(q.all_answered());
}

TEST_CASE("a quorum with too few targets fails at once", "[quorum]") {
  quorum q{1, 2};
  CHECK(q.current() == state::failed);
}

TEST_CASE("a success after the decision does not change it back", "[quorum]") {
  quorum q{3, 1};
  CHECK(q.succeed() == state::succeeded);
  CHECK(q.fail() == state::succeeded);
  CHECK(q.fail() == state::succeeded);
}
