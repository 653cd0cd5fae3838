#include <catch2/catch.hpp>

#include "actors/gossip.hpp"
#include "actors/node/cluster_view.hpp"
#include "actors/node/metrics.hpp"
#include "actors/node/registry.hpp"
#include "actors/supervisor.hpp"
#include "storage/dot_issuer.hpp"
#include "storage/engine.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/fault_env.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv;
using namespace kv::actors;

namespace {

struct supervisor_fixture : test::actor_fixture {
  supervisor_fixture() {
    storage::engine_options opts;
    opts.path = dir.str();
    opts.env = faults.env();
    opts.disk_check_interval_ms = 0;  // a freed disk is seen at the next write
    db = std::shared_ptr<storage::engine>{std::move(*storage::engine::open(opts))};
    cfg.data_dir = dir.str();
    cfg.partitions = 16;
    cfg.replica_actors = 2;
    cfg.detached_replicas = false;
    cfg.max_restarts = 2;
    cfg.restart_window = std::chrono::milliseconds{10000};
    apply_namespace_defaults(cfg);
  }

  ~supervisor_fixture() {
    if (sup) caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    sched.run();
    reg->clear();
    db.reset();  // before `faults`, which the engine uses
  }

  void start() {
    view->publish(initial_single(cfg));
    sup = spawn_supervisor(
        sys,
        {cfg, db, reg, std::make_shared<storage::dot_issuer>("n1.e1", nullptr), metrics, 0, view});
    self->monitor(sup);
    sched.run();
  }

  msg::SupervisorStatusReply status() {
    auto a = call<msg::SupervisorStatusReply>(sup, msg::SupervisorStatusRequest{});
    INFO(kv::describe(a.error));
    REQUIRE(a.reply);
    return *a.reply;
  }

  uint64_t restarts_of(const std::string& role) {
    auto s = status();
    for (auto& a : s.actors())
      if (a.role() == role) return a.restarts();
    FAIL("no such role " << role);
    return 0;
  }

  // The supervisor's exit reason, once it terminated.
  std::optional<caf::error> ended() {
    std::optional<caf::error> result;
    self->receive([&](caf::down_msg& dm) { result = dm.reason; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return result;
  }

  test::temp_dir dir;
  test::fault_env faults;
  std::shared_ptr<storage::engine> db;
  node_config cfg;
  std::shared_ptr<registry> reg = std::make_shared<registry>();
  std::shared_ptr<node_metrics> metrics = std::make_shared<node_metrics>();
  std::shared_ptr<cluster_view> view = std::make_shared<cluster_view>();
  supervisor_actor sup;

  static std::shared_ptr<const cluster_snapshot> initial_single(const node_config& cfg) {
    return *single_node({cfg.node_id, cfg.rack, cfg.datacenter, 1}, "127.0.0.1:7101",
                        ring_options_of(cfg));
  }
};

}  // namespace

TEST_CASE_METHOD(supervisor_fixture, "the supervisor starts and registers every child",
                 "[supervisor]") {
  start();
  CHECK(reg->roles() == std::vector<std::string>{"anti_entropy", "compaction", "coordinator",
                                                 "gossip", "handoff", "hint_store", "node",
                                                 "replica.0", "replica.1"});
  auto s = status();
  REQUIRE(s.actors_size() == 9);
  // Start order: replicas, gossip, handoff, hint store, anti-entropy, compaction, coordinator,
  // node.
  std::vector<std::string> order;
  for (auto& a : s.actors()) order.push_back(a.role());
  CHECK(order == std::vector<std::string>{"replica.0", "replica.1", "gossip", "handoff",
                                          "hint_store", "anti_entropy", "compaction", "coordinator",
                                          "node"});
  for (auto& a : s.actors()) CHECK(a.running());
}

TEST_CASE_METHOD(supervisor_fixture, "a child that dies is restarted and found again by role",
                 "[supervisor]") {
  cfg.max_restarts = 10;
  start();
  auto before = reg->get("replica.1");
  crash(before);
  sched.run();
  auto after = reg->get("replica.1");
  REQUIRE(after);
  CHECK(after != before);
  CHECK(restarts_of("replica.1") == 1);
  CHECK(restarts_of("replica.0") == 0);
  auto coordinator = reg->get("coordinator");
  crash(coordinator);
  sched.run();
  CHECK(reg->get("coordinator") != coordinator);
  CHECK(restarts_of("coordinator") == 1);
  auto node = reg->get("node");
  crash(node);
  sched.run();
  CHECK(reg->get("node") != node);
  CHECK(restarts_of("node") == 1);
  CHECK(metrics->actor_restarts.load() == 3);
}

TEST_CASE_METHOD(supervisor_fixture,
                 "too many restarts in the window end the supervisor with "
                 "an error",
                 "[supervisor]") {
  start();
  for (int i = 0; i < 3; ++i) {
    crash(reg->get("replica.0"));
    sched.run();
  }
  auto reason = ended();
  REQUIRE(reason);
  CHECK(code_of(*reason) == errc::internal);
  CHECK(message_of(*reason).find("restart intensity exceeded") != std::string::npos);
  CHECK(reg->roles().empty());
  sup = nullptr;
}

TEST_CASE_METHOD(supervisor_fixture, "a failed disk write stops the node at once", "[supervisor]") {
  cfg.max_restarts = 100;
  start();
  faults.fail_after_writes(1);
  msg::ReplicaWriteRequest req;
  req.set_partition(0);
  req.set_ns("default");
  req.set_key("k");
  req.mutable_create()->set_value("v");
  auto a = call<msg::ReplicaWriteReply>(reg->get_as<replica_actor>("replica.0"), req);
  CHECK(a.code() == errc::internal);  // on disk or not, nobody knows
  sched.run();
  auto reason = ended();
  REQUIRE(reason);
  CHECK(message_of(*reason).find("storage failed") != std::string::npos);
  sup = nullptr;
}

TEST_CASE_METHOD(supervisor_fixture,
                 "a full disk fails writes UNAVAILABLE without an actor failure, and writes "
                 "resume once space is freed",
                 "[supervisor][disk]") {
  start();
  auto replica = reg->get_as<replica_actor>("replica.0");
  msg::ReplicaWriteRequest req;
  req.set_partition(0);
  req.set_ns("default");
  req.set_key("k");
  req.mutable_create()->set_value("v");
  faults.fill_disk();
  for (int i = 0; i < 3; ++i) {  // the client retries, the disk is still full
    auto a = call<msg::ReplicaWriteReply>(replica, req);
    CHECK(a.code() == errc::unavailable);
    sched.run();
  }
  CHECK(faults.no_space_failures() >= 1);
  CHECK_FALSE(ended());
  CHECK(restarts_of("replica.0") == 0);
  CHECK(metrics->actor_restarts.load() == 0);

  faults.free_space();
  auto a = call<msg::ReplicaWriteReply>(replica, req);
  CHECK(a.reply);
  CHECK(reg->get_as<replica_actor>("replica.0") == replica);
  CHECK_FALSE(ended());
}

TEST_CASE_METHOD(supervisor_fixture, "restarts spread out over time are tolerated",
                 "[supervisor]") {
  start();
  for (int i = 0; i < 6; ++i) {
    crash(reg->get("replica.0"));
    sched.run();
    advance(std::chrono::milliseconds{6000});
  }
  CHECK_FALSE(ended());
  CHECK(restarts_of("replica.0") == 6);
}

TEST_CASE_METHOD(supervisor_fixture, "a stop request stops every child, then the supervisor",
                 "[supervisor]") {
  start();
  std::vector<caf::actor> children;
  for (auto& role : reg->roles()) {
    children.push_back(caf::actor_cast<caf::actor>(reg->get(role)));
    self->monitor(children.back());
  }
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  sched.run();
  size_t downs = 0;
  bool supervisor_down = false;
  for (;;) {
    bool got = false;
    self->receive(
        [&](caf::down_msg& dm) {
          got = true;
          if (dm.source == sup.address()) {
            supervisor_down = true;
            CHECK(dm.reason == caf::exit_reason::user_shutdown);
          } else {
            ++downs;
          }
        },
        caf::after(std::chrono::seconds(0)) >> [] {});
    if (!got) break;
  }
  CHECK(downs == children.size());
  CHECK(supervisor_down);
  CHECK(reg->roles().empty());
  sup = nullptr;
}
