// Three nodes in one actor system, on the deterministic scheduler: each has its own storage,
// registry, replicas and front, and its coordinator sees the others through their fronts, as
// it sees remote nodes through the middleman in production. Node ids are a, b and c.
#include <catch2/catch.hpp>

#include <map>

#include "actors/coordinator.hpp"
#include "actors/gossip.hpp"
#include "actors/net/front.hpp"
#include "actors/net/peer_link.hpp"
#include "actors/node/cluster_view.hpp"
#include "actors/node/metrics.hpp"
#include "actors/node/node.hpp"
#include "actors/node/registry.hpp"
#include "actors/replica.hpp"
#include "cluster/partitioner.hpp"
#include "storage/codec.hpp"
#include "storage/dot_issuer.hpp"
#include "storage/engine.hpp"
#include "storage/keys.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/temp_dir.hpp"

using namespace kv;
using namespace kv::actors;

namespace {

// A front whose replicas never answer: a node that is up but stuck. It takes its peers'
// batches of replica calls and never sends results.
node_actor::behavior_type stuck_front(node_actor::pointer) {
  return {
      [](msg::GossipRequest&) -> caf::result<msg::GossipReply> { return msg::GossipReply{}; },
      [](msg::ReplicaBatch&) {},
      [](flush_atom) {},
  };
}

struct test_node {
  node_config cfg;
  std::shared_ptr<storage::engine> db;
  std::shared_ptr<registry> reg = std::make_shared<registry>();
  std::shared_ptr<cluster_view> view = std::make_shared<cluster_view>();
  node_actor front;
  coordinator_actor coordinator;
};

struct cluster_fixture : test::actor_fixture {
  cluster_fixture() {
    for (auto id : {"a", "b", "c"}) {
      auto& n = nodes[id];
      n.cfg.node_id = id;
      n.cfg.data_dir = dir.sub(id);
      n.cfg.partitions = 16;
      n.cfg.replica_actors = 2;
      n.cfg.seeds.push_back({"127.0.0.1", 1});  // a cluster: namespaces default to n=3
      n.cfg.now_ms = [this] { return ++wall; };
      apply_namespace_defaults(n.cfg);
      storage::engine_options opts;
      opts.path = n.cfg.data_dir;
      n.db = std::shared_ptr<storage::engine>{std::move(*storage::engine::open(opts))};
      for (uint32_t i = 0; i < n.cfg.replica_actors; ++i) {
        auto r = own(spawn_replica(sys, make_replica_config(n.cfg, i, std::string{id} + ".e1"),
                                   n.db, false));
        n.reg->put(replica_role(i), caf::actor_cast<caf::strong_actor_ptr>(r));
      }
      n.front = own(spawn_front(sys, n.reg, n.cfg, std::make_shared<std::atomic<uint64_t>>(0)));
    }
    for (auto& [id, n] : nodes) {
      publish_view(id, {});
      n.coordinator = own(spawn_coordinator(
          sys, {n.cfg, n.db, n.reg, std::make_shared<storage::dot_issuer>(id + ".e1", nullptr),
                metrics, 0, n.view}));
    }
    sched.run();
  }

  ~cluster_fixture() {
    for (auto& [id, n] : nodes) n.reg->clear();
  }

  // What node `id` sees: every node, reachable unless listed in `down`, through a new link to
  // its front, or to the stand-in in `fronts` where given.
  void publish_view(const std::string& id, std::vector<std::string> down,
                    std::map<std::string, node_actor> fronts = {}) {
    std::vector<cluster::member_spec> specs;
    for (auto& [other, n] : nodes) specs.push_back({other, "rack1", "dc1", 1});
    auto snap = std::make_shared<cluster_snapshot>();
    auto placed = cluster::ring::make(specs, ring_options_of(nodes[id].cfg));
    REQUIRE(static_cast<bool>(placed));
    snap->ring = std::make_shared<const cluster::ring>(std::move(*placed));
    for (auto& m : snap->ring->members()) {
      bool is_self = m.id == id;
      bool up = is_self || std::find(down.begin(), down.end(), m.id) == down.end();
      if (is_self) snap->self = static_cast<uint32_t>(snap->peers.size());
      peer_link_actor link;
      if (!is_self && up)
        link =
            own(spawn_peer_link(sys, fronts.count(m.id) ? fronts[m.id] : nodes[m.id].front, m.id));
      snap->peers.push_back({"127.0.0.1:" + m.id, up, link});
    }
    snap->complete = true;
    nodes[id].view->publish(std::move(snap));
  }

  test::answer<msg::PutReply> put(const std::string& via, const std::string& key,
                                  const std::string& value, uint32_t w = 0,
                                  const std::string& context = {}) {
    msg::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    req.set_context(context);
    req.mutable_options()->set_w(w);
    return call<msg::PutReply>(nodes[via].coordinator, req);
  }

  test::answer<msg::GetReply> get(const std::string& via, const std::string& key, uint32_t r = 0) {
    msg::GetRequest req;
    req.set_key(key);
    req.mutable_options()->set_r(r);
    return call<msg::GetReply>(nodes[via].coordinator, req);
  }

  // The values node `id` itself stores for `key`, straight from its engine.
  std::vector<std::string> stored(const std::string& id, const std::string& key) {
    auto& n = nodes[id];
    auto partition = cluster::partitioner{n.cfg.partitions}.of("default", key);
    auto bytes = n.db->get(storage::column::data, storage::data_key(partition, "default", key));
    std::vector<std::string> result;
    if (!bytes || !*bytes) return result;
    auto obj = storage::decode_object(**bytes);
    REQUIRE(obj);
    for (auto& s : obj->siblings())
      if (!s.deleted) result.push_back(s.value);
    std::sort(result.begin(), result.end());
    return result;
  }

  static std::vector<std::string> values(const msg::GetReply& reply) {
    std::vector<std::string> result;
    for (auto& s : reply.siblings())
      if (!s.deleted()) result.push_back(s.value());
    std::sort(result.begin(), result.end());
    return result;
  }

  test::temp_dir dir;
  int64_t wall = 1000;
  std::shared_ptr<node_metrics> metrics = std::make_shared<node_metrics>();
  std::map<std::string, test_node> nodes;
};

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE_METHOD(cluster_fixture, "a put through any node reaches all three replicas",
                 "[cluster]") {
  REQUIRE(put("b", "user:1", "alice").reply);
  for (auto id : {"a", "b", "c"}) CHECK(stored(id, "user:1") == strings{"alice"});
  for (auto id : {"a", "b", "c"}) CHECK(values(*get(id, "user:1").reply) == strings{"alice"});
}

TEST_CASE_METHOD(cluster_fixture,
                 "with one node down, w=2 succeeds and w=3 is unavailable at "
                 "once, naming the node",
                 "[cluster]") {
  publish_view("a", {"c"});
  REQUIRE(put("a", "k", "v", 2).reply);
  CHECK(stored("c", "k").empty());
  auto three = put("a", "k", "v", 3);
  CHECK(three.code() == errc::unavailable);
  CHECK(message_of(three.error).find("2 reachable") != std::string::npos);
  CHECK(message_of(three.error).find("unreachable: c") != std::string::npos);
}

TEST_CASE_METHOD(cluster_fixture, "a read repairs the replicas that were behind", "[cluster]") {
  publish_view("a", {"c"});
  REQUIRE(put("a", "k", "v", 2).reply);
  REQUIRE(stored("c", "k").empty());
  publish_view("a", {});
  auto got = get("a", "k", 2);
  REQUIRE(got.reply);
  CHECK(values(*got.reply) == strings{"v"});
  sched.run();
  CHECK(stored("c", "k") == strings{"v"});
}

TEST_CASE_METHOD(cluster_fixture,
                 "concurrent writes through different coordinators come back "
                 "as siblings, and their context collapses them",
                 "[cluster]") {
  REQUIRE(put("a", "k", "from a").reply);
  REQUIRE(put("b", "k", "from b").reply);
  REQUIRE(put("c", "k", "from c").reply);
  auto got = get("b", "k");
  REQUIRE(got.reply);
  CHECK(values(*got.reply) == strings{"from a", "from b", "from c"});
  REQUIRE(put("c", "k", "merged", 0, got.reply->context()).reply);
  for (auto id : {"a", "b", "c"}) CHECK(stored(id, "k") == strings{"merged"});
}

TEST_CASE_METHOD(cluster_fixture, "a peer that goes fails the requests in flight to it at once",
                 "[cluster]") {
  auto stuck_b = own(sys.spawn(stuck_front));
  publish_view("a", {}, {{"b", stuck_b}, {"c", own(sys.spawn(stuck_front))}});
  msg::PutRequest req;
  req.set_key("k");
  req.set_value("v");
  req.mutable_options()->set_w(3);
  auto h = send_request<msg::PutReply>(nodes["a"].coordinator, req);
  sched.run();
  CHECK_FALSE(collect<msg::PutReply>(h).arrived);        // b and c never answer
  caf::anon_send_exit(stuck_b, caf::exit_reason::kill);  // its connection drops
  sched.run();
  auto a = collect<msg::PutReply>(h);
  REQUIRE(a.arrived);  // long before the deadline: no time has passed
  CHECK(a.code() == errc::unavailable);
  CHECK(message_of(a.error).find("b became unreachable") != std::string::npos);
}

TEST_CASE_METHOD(cluster_fixture,
                 "a peer that went before membership noticed fails the put at once", "[cluster]") {
  // The race the faults test found: the peer's connection dropped while the coordinating
  // replica was still writing, so the view still listed it when the write was replicated.
  // Its link had closed by then; a call to a closed link fails at once.
  auto stuck_b = own(sys.spawn(stuck_front));
  publish_view("a", {}, {{"b", stuck_b}, {"c", own(sys.spawn(stuck_front))}});
  caf::anon_send_exit(stuck_b, caf::exit_reason::kill);
  sched.run();
  msg::PutRequest req;
  req.set_key("k");
  req.set_value("v");
  req.mutable_options()->set_w(3);
  auto h = send_request<msg::PutReply>(nodes["a"].coordinator, req);
  sched.run();
  auto a = collect<msg::PutReply>(h);
  REQUIRE(a.arrived);
  CHECK(a.code() == errc::unavailable);
}

TEST_CASE_METHOD(cluster_fixture, "a peer's errors come back through the link as they were",
                 "[cluster]") {
  auto link = own(spawn_peer_link(sys, nodes["b"].front, "b"));
  msg::ReplicaReadRequest bad;
  bad.set_partition(1000);  // b has 16
  bad.set_key("k");
  msg::ReplicaReadRequest good;
  good.set_partition(3);
  good.set_ns("default");
  good.set_key("k");
  auto h_bad = send_request<msg::ReplicaReadReply>(link, bad);
  auto h_good = send_request<msg::ReplicaReadReply>(link, good);
  sched.run();
  auto a_bad = collect<msg::ReplicaReadReply>(h_bad);
  REQUIRE(a_bad.arrived);
  CHECK(a_bad.code() == errc::invalid_argument);
  CHECK(message_of(a_bad.error) == "no partition 1000");
  auto a_good = collect<msg::ReplicaReadReply>(h_good);
  REQUIRE(a_good.arrived);
  INFO(message_of(a_good.error));
  CHECK_FALSE(a_good.error);
}

TEST_CASE_METHOD(
    cluster_fixture,
    "a call the peer never answers fails at the link's deadline instead of waiting forever",
    "[cluster]") {
  // A front that takes batches and answers none: what a call lost with a dropped connection
  // looks like when the peer's front proxy stays up. Hint replay waits on such calls without a
  // deadline of its own; before the link's deadline, an owner's hints then stayed held forever.
  auto link = own(spawn_peer_link(sys, own(sys.spawn(stuck_front)), "b"));
  msg::ReplicaWriteRequest req;
  req.set_partition(3);
  req.set_ns("default");
  req.set_key("k");
  auto h = send_request<msg::ReplicaWriteReply>(link, req);
  sched.run();
  advance(peer_call_deadline - std::chrono::seconds{1});
  CHECK_FALSE(collect<msg::ReplicaWriteReply>(h).arrived);
  advance(std::chrono::seconds{2});
  auto a = collect<msg::ReplicaWriteReply>(h);
  REQUIRE(a.arrived);
  CHECK(a.code() == errc::timeout);
  CHECK(message_of(a.error) ==
        "b did not answer a call within 20 s; it may or may not have been applied");
}

TEST_CASE_METHOD(cluster_fixture, "a slow peer makes the request time out at its deadline",
                 "[cluster]") {
  publish_view("a", {}, {{"b", own(sys.spawn(stuck_front))}, {"c", own(sys.spawn(stuck_front))}});
  msg::GetRequest req;
  req.set_key("k");
  req.mutable_options()->set_r(2);
  req.mutable_options()->set_timeout_ms(1000);
  auto h = send_request<msg::GetReply>(nodes["a"].coordinator, req);
  sched.run();
  advance(std::chrono::milliseconds{1001});
  auto a = collect<msg::GetReply>(h);
  REQUIRE(a.arrived);
  CHECK(a.code() == errc::timeout);
}

TEST_CASE_METHOD(cluster_fixture, "the local replica coordinates when the node holds the key",
                 "[cluster]") {
  // Every node holds every key with n=3: the dot of a write is the coordinating node's.
  for (auto id : {"a", "b", "c"}) {
    auto reply = put(id, std::string{"k-"} + id, "v");
    REQUIRE(reply.reply);
    auto seen = storage::decode_context(reply.reply->context());
    REQUIRE(seen);
    CHECK(seen->dots().empty());
    REQUIRE(seen->vv().entries().size() == 1);
    CHECK(seen->vv().entries()[0].actor == std::string{id} + ".e1");
  }
}

TEST_CASE_METHOD(cluster_fixture,
                 "a put's context covers its new version but no sibling the client was never "
                 "shown",
                 "[cluster]") {
  // Two blind puts through one node: the second's context used to be {a.e1:2}, which covers
  // the first as well, and a put with it dropped "one" although no client had read it.
  REQUIRE(put("a", "k", "one").reply);
  auto two = put("a", "k", "two");
  REQUIRE(two.reply);
  auto seen = storage::decode_context(two.reply->context());
  REQUIRE(seen);
  CHECK(seen->covers({"a.e1", 2}));
  CHECK_FALSE(seen->covers({"a.e1", 1}));
  auto three = put("a", "k", "three", 0, two.reply->context());
  REQUIRE(three.reply);
  for (auto id : {"a", "b", "c"}) CHECK(stored(id, "k") == strings{"one", "three"});
  auto after = storage::decode_context(three.reply->context());
  REQUIRE(after);
  CHECK(to_string(*after) == "{} + [a.e1:3]");  // a.e1:2 is recorded where "two" was

  SECTION("and a put with the returned context through another node supersedes it") {
    REQUIRE(put("b", "k", "four", 0, three.reply->context()).reply);
    CHECK(values(*get("c", "k", 3).reply) == strings{"four", "one"});
  }
  SECTION("and without a sibling beside it, the context a put returns is a plain vector") {
    auto x = put("a", "other", "x");
    REQUIRE(x.reply);
    auto y = put("a", "other", "y", 0, x.reply->context());
    REQUIRE(y.reply);
    auto token = storage::decode_context(y.reply->context());
    REQUIRE(token);
    CHECK(token->dots().empty());
    CHECK(values(*get("b", "other", 3).reply) == strings{"y"});
  }
}
