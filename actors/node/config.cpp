#include "actors/node/config.hpp"

#include <algorithm>
#include <thread>

#include "actors/node/settings.hpp"
#include "cluster/member_wire.hpp"
#include "cluster/ring.hpp"
#include "messages/errc.hpp"

namespace kv::actors {

uint32_t default_replica_actors() {
  uint32_t cores = std::max(2u, std::thread::hardware_concurrency());
  uint32_t result = 1;
  while (result < cores && result < 64) result *= 2;
  return result;
}
namespace {

caf::error invalid(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

}  // namespace

int64_t system_wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const cluster::namespace_config& namespace_settings(const node_config& cfg,
                                                    const std::string& name) {
  static const cluster::namespace_config unknown;
  auto i = cfg.namespaces.find(name);
  return i == cfg.namespaces.end() ? unknown : i->second;
}

uint32_t max_replicas(const node_config& cfg) {
  uint32_t n = 1;
  for (auto& [name, ns] : cfg.namespaces) n = std::max(n, ns.n);
  return n;
}

bool clustered(const node_config& cfg) {
  auto self = to_string(cfg.peer_listen);
  return std::any_of(cfg.seeds.begin(), cfg.seeds.end(),
                     [&](const host_port& seed) { return to_string(seed) != self; });
}

void apply_listener_defaults(node_config& cfg) {
  auto derived = [&](uint32_t offset) {
    uint32_t port = cfg.listen.port + offset;
    return static_cast<uint16_t>(cfg.listen.port == 0 || port > 65535 ? 0 : port);
  };
  if (cfg.peer_listen.port == 0) {
    if (cfg.peer_listen.host.empty()) cfg.peer_listen.host = cfg.listen.host;
    cfg.peer_listen.port = derived(100);
  }
  if (cfg.admin_listen.port == 0) {
    if (cfg.admin_listen.host.empty()) cfg.admin_listen.host = "127.0.0.1";
    cfg.admin_listen.port = derived(200);
  }
}

void apply_namespace_defaults(node_config& cfg) {
  if (cfg.namespaces.count("default") == 0) cfg.namespaces["default"].name = "default";
  for (auto& [name, ns] : cfg.namespaces)
    if (ns.n == 0) ns.n = clustered(cfg) ? 3 : 1;
}

namespace {

// Rules that tie settings of the node together.
// TLS needs its three files; a node without TLS and an ACL listens on loopback only, unless
// it is told --insecure (protected mode, as Redis has it).
caf::error check_security(const node_config& cfg) {
  int tls_files = !cfg.tls_cert.empty() + !cfg.tls_key.empty() + !cfg.tls_ca.empty();
  if (tls_files != 0 && tls_files != 3)
    return invalid("TLS needs all of --tls-cert, --tls-key and --tls-ca");
  if (secured(cfg) || cfg.insecure) return caf::none;
  std::vector<std::pair<const char*, std::string>> listeners{
      {"--listen", cfg.listen.host},
      {"--peer-listen", cfg.peer_listen.host},
      {"--admin-listen", cfg.admin_listen.host}};
  if (!cfg.http.empty())
    if (auto at = parse_host_port(cfg.http)) listeners.emplace_back("--http", at->host);
  for (auto& [flag, host] : listeners)
    if (!is_loopback(host))
      return invalid(std::string{flag} + " " + host +
                     " is not a loopback address: a node serves other hosts only with TLS and "
                     "an ACL (--tls-cert, --tls-key, --tls-ca and --acl; scripts/certs.sh "
                     "makes certificates), or with --insecure");
  return caf::none;
}

caf::error check_relations(const node_config& cfg) {
  // This node's row and share of the ring, within what its peers decode and place.
  if (auto err = cluster::check_address(to_string(cfg.peer_listen)))
    return invalid("--peer-listen: " + message_of(err));
  if (cfg.peer_listen.port == 0)
    return invalid("--peer-listen: give a port (other nodes must know it)");
  auto same = [](const host_port& a, const host_port& b) {
    return a.port == b.port && (a.host == b.host || a.host == "0.0.0.0" || b.host == "0.0.0.0");
  };
  if (same(cfg.listen, cfg.peer_listen) || same(cfg.listen, cfg.admin_listen) ||
      same(cfg.peer_listen, cfg.admin_listen))
    return invalid("--listen, --peer-listen and --admin-listen must be three different ports");
  if (uint64_t{cfg.weight} * cfg.tokens_per_weight > cluster::max_ring_tokens)
    return invalid("weight (" + std::to_string(cfg.weight) + ") x tokens_per_weight (" +
                   std::to_string(cfg.tokens_per_weight) + ") must be at most " +
                   std::to_string(cluster::max_ring_tokens) + " ring tokens");
  if (cfg.replica_actors > cfg.partitions)
    return invalid("replica_actors (--replicas, " + std::to_string(cfg.replica_actors) +
                   ") must not exceed partitions (" + std::to_string(cfg.partitions) + ")");
  constexpr uint64_t frame_overhead = uint64_t{64} << 10;  // options, context, CAF framing
  if (cfg.max_frame_bytes < cfg.max_value_bytes + cfg.max_key_bytes + frame_overhead)
    return invalid("max_frame_bytes (" + std::to_string(cfg.max_frame_bytes) +
                   ") must exceed the key and value limits plus 64 KiB");
  if (cfg.default_timeout > cfg.max_timeout)
    return invalid("default_timeout_ms (" + std::to_string(cfg.default_timeout.count()) +
                   ") must be at most max_timeout_ms (" + std::to_string(cfg.max_timeout.count()) +
                   ")");
  if (cfg.suspect_after <= cfg.gossip_interval)
    return invalid("suspect_after_ms (" + std::to_string(cfg.suspect_after.count()) +
                   ") must exceed the gossip interval (" +
                   std::to_string(cfg.gossip_interval.count()) + " ms)");
  // A hint older than the grace period could bring back a value whose tombstone is gone.
  if (cfg.hint_max_age >= cfg.tombstone_grace)
    return invalid("hint_max_age_ms (" + std::to_string(cfg.hint_max_age.count()) +
                   ") must be below tombstone_grace_ms (" +
                   std::to_string(cfg.tombstone_grace.count()) +
                   "): an older hint could resurrect a deleted value");
  return check_security(cfg);
}

// Every namespace by its own rules, then against the node's limits: a namespace must hold a
// value of the largest size, and a peer message must carry the largest object in pieces.
caf::error check_namespaces(const node_config& cfg) {
  if (cfg.namespaces.count("default") == 0) return invalid("the 'default' namespace is missing");
  auto smallest = uint64_t{cfg.max_value_bytes} + cfg.max_key_bytes + 4096;
  uint64_t largest = 0;
  for (auto& [name, ns] : cfg.namespaces) {
    for (auto& s : namespace_table())
      if (auto err = check(s, ns)) return invalid("namespace '" + name + "': " + message_of(err));
    if (auto err = cluster::validate(ns)) return err;
    if (ns.max_object_bytes < smallest)
      return invalid("namespace '" + name + "': max_object_bytes (" +
                     std::to_string(ns.max_object_bytes) + ") must be at least max_value_bytes (" +
                     std::to_string(cfg.max_value_bytes) + ") + max_key_bytes (" +
                     std::to_string(cfg.max_key_bytes) +
                     ") + 4096, or no value of the largest size could be written");
    largest = std::max(largest, ns.max_object_bytes);
  }
  if (cfg.max_peer_message_bytes < 4 * largest)
    return invalid("max_peer_message_bytes (" + std::to_string(cfg.max_peer_message_bytes) +
                   ") must be at least 4 x the largest namespace max_object_bytes (" +
                   std::to_string(largest) + ")");
  return caf::none;
}

}  // namespace

bool secured(const node_config& cfg) {
  return !cfg.tls_cert.empty() && !cfg.acl.empty();
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

caf::error validate(const node_config& cfg) {
  if (cfg.data_dir.empty()) return invalid("--data-dir is required");
  for (auto& s : node_table())
    if (auto err = check(s, cfg)) return err;
  if (auto err = check_namespaces(cfg)) return err;
  return check_relations(cfg);
}

}  // namespace kv::actors
