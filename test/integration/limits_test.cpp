// What a client or a peer sends must not crash a node or cut the cluster (issue 13): each
// scenario here broke a real node before its fix.
//  - A context token claiming the coordinating node's own actor at counter 2^64-1 was stored,
//    and the next write through that node aborted it. Such tokens are refused now, and a context
//    poisoned before the fix no longer stops writes to its key.
//  - Six blind puts of 1 MB to one key grew its object past the port's 4 MiB frame limit, and
//    from then on anti-entropy's attempts to send it dropped the peer links every few seconds.
//    Objects are bounded per namespace now (the fifth put is refused TOO_LARGE), and an object
//    larger than a frame, allowed by its namespace or grown before a bound was lowered,
//    travels between nodes in pieces.
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "actors/interfaces.hpp"
#include "actors/net/peer_link.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "client/client.hpp"
#include "cluster/partitioner.hpp"
#include "messages/common.pb.h"
#include "messages/token.hpp"
#include "storage/codec.hpp"
#include "test/integration/cluster_support.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using kv::test::node;
using kv::test::run_kvctl;

std::vector<std::string> on(const node& n, std::vector<std::string> args) {
  args.insert(args.begin(), {"--node", n.address(), "--timeout", "3000"});
  return args;
}

// The value of the "context: TOKEN" line kvctl prints after a put or get.
std::string context_line(const std::string& out) {
  auto at = out.find("context: ");
  REQUIRE(at != std::string::npos);
  auto end = out.find('\n', at);
  return out.substr(at + 9, end - at - 9);
}

// The actor of the node's current incarnation, from the token of a fresh blind write.
std::string actor_of(const node& n) {
  auto put = run_kvctl(on(n, {"put", "actor-probe", "x"}));
  REQUIRE(put.exit_code == 0);
  auto bytes = kv::decode_token(context_line(put.out));
  REQUIRE(bytes);
  auto context = kv::storage::decode_context(*bytes);
  REQUIRE(context);
  // A blind write's token holds the new dot alone: as an entry, or as an exact dot when the
  // key already has a sibling of the node's actor.
  REQUIRE(context->size() == 1);
  return context->dots().empty() ? context->vv().entries().front().actor
                                 : context->dots().front().actor;
}

// A token saying that `actor` has issued `counter` events for the key.
std::string token_claiming(const std::string& actor, uint64_t counter) {
  auto vv = kv::storage::version_vector::from_entries({{actor, counter, 0}});
  return kv::encode_token(kv::storage::encode_context(vv));
}

// A CAF peer of the node, as another node would be: its calls reach the node's replicas.
struct peer {
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    kv::client::configure(cfg);
    return cfg;
  }
  explicit peer(const node& n) : sys(init(cfg)) {
    auto front = sys.middleman().remote_actor<kv::actors::node_actor>(
        "127.0.0.1", n.port() + kv::test::node_port_offset_peer);
    REQUIRE(front);
    link = kv::actors::spawn_peer_link(sys, *front, n.id());
  }
  ~peer() { caf::anon_send_exit(link, caf::exit_reason::user_shutdown); }

  // Merges `object` into the node's copy of `key` (namespace "default", Q = 256).
  void merge(const std::string& key, const kv::storage::object& object) {
    kv::msg::ReplicaWriteRequest req;
    req.set_partition(kv::cluster::partitioner{256}.of("default", key));
    req.set_ns("default");
    req.set_key(key);
    kv::storage::to_proto(object, *req.mutable_merge());
    caf::scoped_actor self{sys};
    bool merged = false;
    self->request(link, std::chrono::seconds(5), std::move(req))
        .receive([&](kv::msg::ReplicaWriteReply&) { merged = true; },
                 [&](caf::error& err) { FAIL(kv::describe(err)); });
    REQUIRE(merged);
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  kv::actors::peer_link_actor link;
};

}  // namespace

TEST_CASE("a context token claiming an implausible counter is refused and the node serves on",
          "[integration][limits]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  auto actor = actor_of(n);

  auto poisoned =
      run_kvctl(on(n, {"put", "probe:b", "v2", "--context", token_claiming(actor, UINT64_MAX)}));
  CHECK(poisoned.exit_code == 2);
  CHECK(poisoned.first_err_line().rfind("INVALID_ARGUMENT", 0) == 0);
  CHECK(poisoned.first_err_line().find("implausible") != std::string::npos);
  auto at_bound = run_kvctl(on(
      n, {"put", "probe:b", "v2", "--context", token_claiming(actor, kv::storage::max_counter)}));
  CHECK(at_bound.exit_code == 2);

  CHECK(run_kvctl(on(n, {"put", "probe:b", "v3"})).exit_code == 0);  // aborted the node before
  auto got = run_kvctl(on(n, {"get", "probe:b", "--raw"}));
  CHECK(got.exit_code == 0);
  CHECK(got.out == "v3");
  CHECK(n.proc().running());
}

TEST_CASE("a context poisoned before tokens were checked no longer stops writes to its key",
          "[integration][limits]") {
  kv::test::temp_dir dir;
  node n{dir.str()};
  auto actor = actor_of(n);
  {
    // What a pre-fix node stored after a poisoned token: a value, and a context claiming the
    // node's own actor at 2^64-1. A peer's merge carries it here as replication would.
    peer p{n};
    auto old = kv::storage::object::from_parts(
        {{{actor, 1}, "old", false, 1}},
        kv::storage::version_vector::from_entries({{actor, UINT64_MAX, 1}}));
    p.merge("probe:c", old);
  }

  auto blind = run_kvctl(on(n, {"put", "probe:c", "new"}));
  REQUIRE(blind.exit_code == 0);
  CHECK(n.wait_for_log("IncarnationRenewed retired=" + actor, 3000ms));
  auto got = run_kvctl(on(n, {"get", "probe:c"}));
  REQUIRE(got.exit_code == 0);
  CHECK(got.out.find("old") != std::string::npos);
  CHECK(got.out.find("new") != std::string::npos);

  // The token of that read is within the limits, so the siblings can be resolved.
  auto resolved =
      run_kvctl(on(n, {"put", "probe:c", "resolved", "--context", context_line(got.out)}));
  CHECK(resolved.exit_code == 0);
  auto after = run_kvctl(on(n, {"get", "probe:c", "--raw"}));
  CHECK(after.exit_code == 0);
  CHECK(after.out == "resolved");
  CHECK(run_kvctl(on(n, {"put", "probe:d", "other"})).exit_code == 0);
  CHECK(n.proc().running());
}

namespace {

using namespace kv::test::cluster_support;

// A distinct value of 1,000,000 bytes.
std::string megabyte(int i) {
  std::string value(1000000, 'a' + static_cast<char>(i % 26));
  value.replace(0, 8, "value-" + std::to_string(i) + "-");
  return value;
}

// A blind put of `value` (from stdin) through `via`.
cli_result put_big(const node& via, const std::string& key, const std::string& value,
                   const std::string& ns = "default") {
  return kv::test::run_kvctl(
      {"--node", via.address(), "--timeout", "10000", "put", key, "-", "--ns", ns, "--w", "3"}, 20s,
      value);
}

// Log lines that mean a link between two live nodes broke.
size_t link_breaks(cluster& c) {
  size_t found = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    auto log = c[i].log();
    for (auto text : {"ConnectionRejected", "PeerDisconnected"})
      for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++found;
  }
  return found;
}

std::string write_file(const std::string& path, const std::string& text) {
  REQUIRE(static_cast<bool>(std::ofstream{path} << text));
  return path;
}

}  // namespace

TEST_CASE("blind puts that would take an object past its bound are refused and no link drops",
          "[integration][limits]") {
  kv::test::temp_dir dir;
  auto config = write_file(dir.str() + "/ae.toml", "anti_entropy_sweep_ms = 2000\n");
  cluster c{dir.str(), 3, {"--config", config}};
  blocking_client other{kv::test::client_config_for(c[1])};
  for (int i = 1; i <= 6; ++i) {
    auto put = put_big(c[0], "probe:big", megabyte(i));
    INFO("put " << i << ": " << describe(put));
    if (i <= 4) {
      CHECK(put.exit_code == 0);
    } else {
      CHECK(put.exit_code == 2);
      CHECK(put.first_err_line().rfind("TOO_LARGE", 0) == 0);
      CHECK(put.first_err_line().find("allows 4194304 (max_object_bytes)") != std::string::npos);
    }
    CHECK(other.put("other:" + std::to_string(i), "v", writing(3)));
  }
  // Anti-entropy sweeps every 2 s meanwhile: the links hold, and W=3 keeps succeeding.
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(500ms);
    CHECK(other.put("later:" + std::to_string(i), "v", writing(3)));
  }
  auto got = other.get("probe:big", reading(3));
  REQUIRE(got);
  CHECK(got->siblings.size() == 4);
  CHECK(link_breaks(c) == 0);
}

TEST_CASE("objects larger than a frame travel in pieces, also once their bound was lowered",
          "[integration][limits]") {
  kv::test::temp_dir dir;
  auto config = dir.str() + "/big.toml";
  write_file(config,
             "anti_entropy_sweep_ms = 2000\n[namespaces.big]\nmax_object_bytes = 16777216\n");
  cluster c{dir.str(), 3, {"--config", config, "--sync", "none"}};
  for (int i = 1; i <= 6; ++i) {
    auto put = put_big(c[0], "k", megabyte(i), "big");
    INFO("put " << i << ": " << describe(put));
    REQUIRE(put.exit_code == 0);  // W=3: each 6 MB merge crossed two links in pieces
  }
  blocking_client via2{kv::test::client_config_for(c[1])};
  auto got = via2.get("k", reading(3, 10000ms, "big"));
  REQUIRE(got);
  CHECK(got->siblings.size() == 6);
  CHECK(link_breaks(c) == 0);

  // The bound goes down to 2 MiB and n3 loses its disk: anti-entropy brings the 6 MB object
  // back to it all the same, and n3 refuses writes that would grow it, but not one that
  // resolves its siblings.
  write_file(config,
             "anti_entropy_sweep_ms = 2000\n[namespaces.big]\nmax_object_bytes = 2097152\n");
  c.kill("n3");
  std::filesystem::remove_all(c.at("n3").data_dir());
  c.restart({"n3"});
  auto restored = wait_until(30s, [&] {
    auto views = explain(c[2], "k", "big");
    return views.size() == 3 && replica_of(views, "n3").values.size() == 6;
  });
  CHECK(restored);
  auto grow = put_big(c[2], "k", megabyte(7), "big");
  CHECK(grow.exit_code == 2);
  CHECK(grow.first_err_line().rfind("TOO_LARGE", 0) == 0);
  blocking_client via3{kv::test::client_config_for(c[2])};
  auto read = via3.get("k", reading(3, 10000ms, "big"));
  REQUIRE(read);
  request_options opts = writing(3, 10000ms, "big");
  CHECK(via3.put("k", "resolved", opts, read->context));
  auto after = via2.get("k", reading(3, 10000ms, "big"));
  REQUIRE(after);
  CHECK(values_of(*after) == std::set<std::string>{"resolved"});
}

TEST_CASE("anti-entropy lists partitions larger than a page in pages and restores every key",
          "[integration][limits]") {
  kv::test::temp_dir dir;
  auto config = write_file(dir.str() + "/pages.toml", "anti_entropy_sweep_ms = 2000\n");
  cluster c{
      dir.str(), 3, {"--config", config, "--sync", "none", "--partitions", "2", "--replicas", "2"}};
  blocking_client db{kv::test::client_config_for(c[0])};
  std::map<std::string, std::string> written;
  for (int i = 0; i < 3000; ++i) {
    auto key = "p" + std::to_string(i);
    REQUIRE(db.put(key, "v" + std::to_string(i), writing(3)));
    written[key] = "v" + std::to_string(i);
  }
  c.kill("n3");
  std::filesystem::remove_all(c.at("n3").data_dir());
  c.restart({"n3"});
  // Each of the two partitions holds ~1500 keys: two pages of at most 1024 per listing. Once
  // n3's start-up exchanges are done, it alone must hold every key.
  auto settled = wait_until(60s, [&] {
    auto repairs = parse_json(kvctl(c[2], {"--json", "repair-status"}));
    return repairs["urgent"].text.empty() || repairs["urgent"].text == "0";
  });
  CHECK(settled);
  c.kill("n1");
  c.kill("n2");
  blocking_client via3{kv::test::client_config_for(c[2])};
  size_t missing = 0;
  for (auto& [key, value] : written) {
    auto got = via3.get(key, reading(1));
    if (!got || values_of(*got) != std::set<std::string>{value}) ++missing;
  }
  CHECK(missing == 0);
}
