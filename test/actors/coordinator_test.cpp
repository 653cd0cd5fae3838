#include <catch2/catch.hpp>

#include "actors/coordinator.hpp"
#include "actors/gossip.hpp"
#include "actors/node/cluster_view.hpp"
#include "actors/node/metrics.hpp"
#include "actors/node/registry.hpp"
#include "actors/replica.hpp"
#include "storage/codec.hpp"
#include "storage/dot_issuer.hpp"
#include "storage/engine.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv;
using namespace kv::actors;

namespace {

// A replica that takes every request and never answers: a hung disk, a stuck peer.
replica_actor::behavior_type black_hole(replica_actor::pointer self) {
  return {
      [self](msg::ReplicaWriteRequest&) -> caf::result<msg::ReplicaWriteReply> {
        return self->make_response_promise<msg::ReplicaWriteReply>();
      },
      [self](msg::ReplicaReadRequest&) -> caf::result<msg::ReplicaReadReply> {
        return self->make_response_promise<msg::ReplicaReadReply>();
      },
      [self](msg::TreeRequest&) -> caf::result<msg::TreeReply> {
        return self->make_response_promise<msg::TreeReply>();
      },
      [self](msg::DropPartitionRequest&) -> caf::result<msg::DropPartitionReply> {
        return self->make_response_promise<msg::DropPartitionReply>();
      },
      [](commit_atom) {},
  };
}

struct coordinator_fixture : test::actor_fixture {
  coordinator_fixture() {
    storage::engine_options opts;
    opts.path = dir.str();
    db = std::shared_ptr<storage::engine>{std::move(*storage::engine::open(opts))};
    cfg.data_dir = dir.str();
    cfg.partitions = 16;
    cfg.replica_actors = 2;
    cfg.now_ms = [this] { return ++wall; };
    apply_namespace_defaults(cfg);
    cfg.namespaces["cache"] = *parse_namespace("cache:n=1,lww=true");
    for (uint32_t i = 0; i < cfg.replica_actors; ++i) start_replica(i);
    view->publish(*single_node({cfg.node_id, cfg.rack, cfg.datacenter, 1}, "127.0.0.1:7101",
                               ring_options_of(cfg)));
    coordinator = own(spawn_coordinator(
        sys,
        {cfg, db, reg, std::make_shared<storage::dot_issuer>("n1.e1", nullptr), metrics, 0, view}));
    sched.run();
  }

  ~coordinator_fixture() { reg->clear(); }

  void start_replica(uint32_t i) {
    auto r = own(spawn_replica(sys, make_replica_config(cfg, i, "n1.e1"), db, false));
    reg->put(replica_role(i), caf::actor_cast<caf::strong_actor_ptr>(r));
  }

  void replace_all_replicas_with_black_holes() {
    for (uint32_t i = 0; i < cfg.replica_actors; ++i)
      reg->put(replica_role(i), caf::actor_cast<caf::strong_actor_ptr>(own(sys.spawn(black_hole))));
  }

  test::answer<msg::PutReply> put(const std::string& key, const std::string& value,
                                  const std::string& context = {}, const std::string& ns = {}) {
    msg::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    req.set_context(context);
    req.mutable_options()->set_ns(ns);
    return call<msg::PutReply>(coordinator, req);
  }

  test::answer<msg::GetReply> get(const std::string& key, const std::string& ns = {}) {
    msg::GetRequest req;
    req.set_key(key);
    req.mutable_options()->set_ns(ns);
    return call<msg::GetReply>(coordinator, req);
  }

  static std::vector<std::string> live_values(const msg::GetReply& reply) {
    std::vector<std::string> result;
    for (auto& s : reply.siblings())
      if (!s.deleted()) result.push_back(s.value());
    std::sort(result.begin(), result.end());
    return result;
  }

  test::temp_dir dir;
  std::shared_ptr<storage::engine> db;
  node_config cfg;
  int64_t wall = 1000;
  std::shared_ptr<registry> reg = std::make_shared<registry>();
  std::shared_ptr<node_metrics> metrics = std::make_shared<node_metrics>();
  std::shared_ptr<cluster_view> view = std::make_shared<cluster_view>();
  coordinator_actor coordinator;
};

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE_METHOD(coordinator_fixture, "a value put is read back", "[coordinator]") {
  REQUIRE(put("user:1", "alice").reply);
  auto got = get("user:1");
  REQUIRE(got.reply);
  CHECK(live_values(*got.reply) == strings{"alice"});
  CHECK_FALSE(got.reply->context().empty());
}

TEST_CASE_METHOD(coordinator_fixture,
                 "blind writes become siblings, and a write with their context "
                 "replaces them",
                 "[coordinator]") {
  REQUIRE(put("k", "a").reply);
  REQUIRE(put("k", "b").reply);
  auto got = get("k");
  REQUIRE(got.reply);
  CHECK(live_values(*got.reply) == strings{"a", "b"});
  REQUIRE(put("k", "ab", got.reply->context()).reply);
  CHECK(live_values(*get("k").reply) == strings{"ab"});
}

TEST_CASE_METHOD(coordinator_fixture, "a write with a stale context keeps the concurrent value",
                 "[coordinator]") {
  REQUIRE(put("k", "a").reply);
  auto seen = get("k").reply->context();
  REQUIRE(put("k", "b", seen).reply);  // replaces a
  REQUIRE(put("k", "c", seen).reply);  // concurrent with b: both stay
  CHECK(live_values(*get("k").reply) == strings{"b", "c"});
}

TEST_CASE_METHOD(coordinator_fixture, "the context a put returns supersedes that put",
                 "[coordinator]") {
  auto first = put("k", "a");
  REQUIRE(first.reply);
  REQUIRE(put("k", "b", first.reply->context()).reply);
  CHECK(live_values(*get("k").reply) == strings{"b"});
}

TEST_CASE_METHOD(coordinator_fixture, "a delete with the read's context removes the key",
                 "[coordinator]") {
  REQUIRE(put("k", "a").reply);
  msg::DeleteRequest del;
  del.set_key("k");
  del.set_context(get("k").reply->context());
  REQUIRE(call<msg::DeleteReply>(coordinator, del).reply);
  auto got = get("k");
  REQUIRE(got.reply);
  CHECK(live_values(*got.reply).empty());
  CHECK(got.reply->siblings_size() == 1);
  CHECK(got.reply->siblings(0).deleted());
}

TEST_CASE_METHOD(coordinator_fixture, "a blind delete does not remove a concurrent value",
                 "[coordinator]") {
  REQUIRE(put("k", "a").reply);
  msg::DeleteRequest del;
  del.set_key("k");
  REQUIRE(call<msg::DeleteReply>(coordinator, del).reply);
  auto got = get("k");
  CHECK(live_values(*got.reply) == strings{"a"});
  CHECK(got.reply->siblings_size() == 2);
}

TEST_CASE_METHOD(coordinator_fixture, "a last-write-wins namespace keeps only the newest value",
                 "[coordinator]") {
  REQUIRE(put("k", "a", {}, "cache").reply);
  REQUIRE(put("k", "b", {}, "cache").reply);
  CHECK(live_values(*get("k", "cache").reply) == strings{"b"});
}

TEST_CASE_METHOD(coordinator_fixture, "namespaces keep separate keys", "[coordinator]") {
  REQUIRE(put("k", "a").reply);
  REQUIRE(put("k", "b", {}, "cache").reply);
  CHECK(live_values(*get("k").reply) == strings{"a"});
  CHECK(live_values(*get("k", "cache").reply) == strings{"b"});
}

TEST_CASE_METHOD(coordinator_fixture, "bad input gets a typed error and loses nothing",
                 "[coordinator]") {
  REQUIRE(put("keep", "safe").reply);
  auto bad_put = [&](auto mutate) {
    msg::PutRequest req;
    req.set_key("k");
    req.set_value("v");
    mutate(req);
    return call<msg::PutReply>(coordinator, req).code();
  };
  CHECK(bad_put([](auto& r) { r.set_key(""); }) == errc::invalid_argument);
  CHECK(bad_put([](auto& r) { r.set_key(std::string(1025, 'k')); }) == errc::too_large);
  CHECK(bad_put([](auto& r) { r.set_value(std::string((1 << 20) + 1, 'v')); }) == errc::too_large);
  CHECK(bad_put([](auto& r) { r.mutable_options()->set_w(2); }) == errc::invalid_argument);
  CHECK(bad_put([](auto& r) { r.mutable_options()->set_n(2); }) == errc::invalid_argument);
  CHECK(bad_put([](auto& r) { r.mutable_options()->set_ns("nope"); }) == errc::invalid_argument);
  CHECK(bad_put([](auto& r) { r.mutable_options()->set_level(static_cast<msg::Level>(42)); }) ==
        errc::invalid_argument);
  CHECK(bad_put([](auto& r) {
          r.mutable_options()->set_level(msg::LEVEL_ONE);
          r.mutable_options()->set_w(1);
        }) == errc::invalid_argument);
  CHECK(bad_put([](auto& r) { r.set_context("\xff\xfe garbage"); }) == errc::invalid_argument);
  CHECK(bad_put([](auto& r) { r.mutable_options()->set_timeout_ms(3600000); }) ==
        errc::invalid_argument);
  msg::GetRequest get_req;
  get_req.set_key("keep");
  get_req.mutable_options()->set_r(2);
  CHECK(call<msg::GetReply>(coordinator, get_req).code() == errc::invalid_argument);
  CHECK(db->stats().writes > 0);
  CHECK(live_values(*get("keep").reply) == strings{"safe"});
  CHECK(live_values(*get("k").reply).empty());  // no bad request wrote anything
}

TEST_CASE_METHOD(coordinator_fixture, "a key whose replica is not running is unavailable at once",
                 "[coordinator]") {
  reg->clear();
  auto a = put("k", "v");
  CHECK(a.code() == errc::unavailable);
  CHECK(kv::message_of(a.error).find("w=1 needs 1 replica, 0 reachable") != std::string::npos);
}

TEST_CASE_METHOD(coordinator_fixture,
                 "a request whose replica never answers times out at its "
                 "deadline",
                 "[coordinator]") {
  replace_all_replicas_with_black_holes();
  msg::PutRequest req;
  req.set_key("k");
  req.set_value("v");
  req.mutable_options()->set_timeout_ms(2000);
  auto h = send_request<msg::PutReply>(coordinator, req);
  sched.run();
  CHECK_FALSE(collect<msg::PutReply>(h).arrived);
  advance(std::chrono::milliseconds{1900});
  CHECK_FALSE(collect<msg::PutReply>(h).arrived);
  advance(std::chrono::milliseconds{200});
  auto a = collect<msg::PutReply>(h);
  REQUIRE(a.arrived);
  CHECK(a.code() == errc::timeout);
  CHECK(kv::message_of(a.error).find("may or may not have been applied") != std::string::npos);
}

TEST_CASE_METHOD(coordinator_fixture,
                 "requests in flight keep their deadline when the "
                 "coordinator dies",
                 "[coordinator]") {
  replace_all_replicas_with_black_holes();
  msg::GetRequest req;
  req.set_key("k");
  req.mutable_options()->set_timeout_ms(1000);
  auto h = send_request<msg::GetReply>(coordinator, req);
  sched.run();
  self->send_exit(coordinator, make_error(errc::internal, "chaos"));
  sched.run();
  advance(std::chrono::milliseconds{1001});
  auto a = collect<msg::GetReply>(h);
  REQUIRE(a.arrived);
  CHECK(a.code() == errc::timeout);
}

TEST_CASE_METHOD(coordinator_fixture, "a request is answered whenever its replica dies",
                 "[coordinator]") {
  // Crash the replicas after every possible number of steps of the request: whatever the
  // interleaving, the client gets an answer (success, or an error), never silence.
  for (int steps = 0; steps < 8; ++steps) {
    CAPTURE(steps);
    msg::PutRequest req;
    req.set_key("k");
    req.set_value("v");
    auto h = send_request<msg::PutReply>(coordinator, req);
    for (int i = 0; i < steps; ++i) sched.try_run_once();
    for (uint32_t i = 0; i < cfg.replica_actors; ++i)
      crash(reg->get_as<replica_actor>(replica_role(i)));
    sched.run();
    auto a = collect<msg::PutReply>(h);
    CHECK(a.arrived);
    for (uint32_t i = 0; i < cfg.replica_actors; ++i) start_replica(i);
    sched.run();
  }
}

TEST_CASE_METHOD(coordinator_fixture, "every answer is counted by operation and outcome",
                 "[coordinator]") {
  REQUIRE(put("k", "v").reply);
  REQUIRE(get("k").reply);
  CHECK(put("", "v").code() == errc::invalid_argument);
  auto count = [&](op kind, errc code) {
    return metrics->requests[static_cast<size_t>(kind)][static_cast<size_t>(code)].load();
  };
  CHECK(count(op::put, errc::none) == 1);
  CHECK(count(op::get, errc::none) == 1);
  CHECK(count(op::put, errc::invalid_argument) == 1);
  CHECK(metrics->latency[static_cast<size_t>(op::put)].count.load() == 2);
  std::string text;
  metrics->render(text);
  CHECK(text.find("ringkv_requests_total{op=\"put\",code=\"OK\"} 1") != std::string::npos);
  CHECK(text.find("ringkv_request_seconds_count{op=\"get\"} 1") != std::string::npos);
}

TEST_CASE_METHOD(coordinator_fixture, "a finished request leaves no FSM or timer behind",
                 "[coordinator]") {
  for (int i = 0; i < 20; ++i) REQUIRE(put("k" + std::to_string(i), "v").reply);
  advance(std::chrono::milliseconds{6000});  // past every deadline: the tick stops
  CHECK_FALSE(sched.has_pending_timeout());
}
