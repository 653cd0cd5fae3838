#include "actors/config.hpp"

#include <algorithm>
#include <charconv>
#include <thread>

#include <toml++/toml.h>

#include "cluster/member_wire.hpp"
#include "cluster/partitioner.hpp"
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

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

bool parse_bool(std::string_view text, bool& out) {
  if (text == "true" || text == "1" || text == "yes") return out = true, true;
  if (text == "false" || text == "0" || text == "no") return out = false, true;
  return false;
}

caf::error apply_namespace_setting(cluster::namespace_config& ns, std::string_view key,
                                   std::string_view value) {
  bool ok = false;
  if (key == "n")
    ok = parse_number(value, ns.n);
  else if (key == "r")
    ok = parse_number(value, ns.r);
  else if (key == "w")
    ok = parse_number(value, ns.w);
  else if (key == "lww")
    ok = parse_bool(value, ns.lww);
  else if (key == "strict")
    ok = parse_bool(value, ns.strict);
  else if (key == "ttl_ms")
    ok = parse_number(value, ns.ttl_ms);
  else if (key == "max_object_bytes")
    ok = parse_number(value, ns.max_object_bytes);
  else if (key == "max_siblings")
    ok = parse_number(value, ns.max_siblings);
  else
    return invalid("namespace '" + ns.name + "': unknown setting '" + std::string{key} +
                   "' (known: n, r, w, lww, strict, ttl_ms)");
  if (!ok)
    return invalid("namespace '" + ns.name + "': bad value '" + std::string{value} + "' for " +
                   std::string{key});
  return caf::none;
}

template <class T>
void read(const toml::table& tbl, std::string_view key, T& out) {
  if (auto v = tbl[key].value<T>()) out = *v;
}

void read_ms(const toml::table& tbl, std::string_view key, milliseconds& out) {
  if (auto v = tbl[key].value<int64_t>()) out = milliseconds{*v};
}

}  // namespace

int64_t system_wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

caf::expected<host_port> parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return invalid("expected HOST:PORT, got '" + text + "'");
  host_port result;
  result.host = text.substr(0, colon);
  if (result.host.size() > 2 && result.host.front() == '[' && result.host.back() == ']')
    result.host = result.host.substr(1, result.host.size() - 2);
  if (!parse_number(std::string_view{text}.substr(colon + 1), result.port) || result.port == 0)
    return invalid("bad port in '" + text + "'");
  return result;
}

std::string to_string(const host_port& hp) {
  if (hp.host.find(':') != std::string::npos) return "[" + hp.host + "]:" + std::to_string(hp.port);
  return hp.host + ":" + std::to_string(hp.port);
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
  auto self = to_string(cfg.listen);
  return std::any_of(cfg.seeds.begin(), cfg.seeds.end(),
                     [&](const host_port& seed) { return to_string(seed) != self; });
}

void apply_namespace_defaults(node_config& cfg) {
  if (cfg.namespaces.count("default") == 0) cfg.namespaces["default"].name = "default";
  for (auto& [name, ns] : cfg.namespaces)
    if (ns.n == 0) ns.n = clustered(cfg) ? 3 : 1;
}

namespace {

// This node's row of the member table and its share of the ring: within the bounds its peers
// decode rows with (cluster/member_wire.hpp) and the ring places (cluster/ring.hpp), or a node
// would start that nobody else takes in.
caf::error validate_member(const node_config& cfg) {
  if (cfg.node_id.empty() || cfg.node_id.size() > 64)
    return invalid("--id must be 1 to 64 characters");
  for (char c : cfg.node_id)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return invalid("--id may contain only letters, digits, '-' and '_': '" + cfg.node_id + "'");
  if (auto err = cluster::check_place("--rack", cfg.rack)) return err;
  if (auto err = cluster::check_place("--dc", cfg.datacenter)) return err;
  if (auto err = cluster::check_address(to_string(cfg.listen)))
    return invalid("--listen: " + message_of(err));
  if (cfg.weight == 0 || cfg.weight > cluster::max_weight)
    return invalid("--weight must be between 1 and " + std::to_string(cluster::max_weight));
  if (cfg.tokens_per_weight == 0 || cfg.tokens_per_weight > 65536)
    return invalid("tokens_per_weight must be between 1 and 65536");
  if (uint64_t{cfg.weight} * cfg.tokens_per_weight > cluster::max_ring_tokens)
    return invalid("--weight x tokens_per_weight must be at most " +
                   std::to_string(cluster::max_ring_tokens) + " ring tokens");
  return caf::none;
}

}  // namespace

caf::error validate(const node_config& cfg) {
  if (auto err = validate_member(cfg)) return err;
  if (cfg.data_dir.empty()) return invalid("--data-dir is required");
  if (!cluster::valid_partition_count(cfg.partitions))
    return invalid("partitions must be a power of two between 1 and 65536, not " +
                   std::to_string(cfg.partitions));
  if (cfg.replica_actors == 0 || cfg.replica_actors > cfg.partitions ||
      (cfg.replica_actors & (cfg.replica_actors - 1)) != 0)
    return invalid("replica actors must be a power of two between 1 and the partition count");
  if (cfg.max_key_bytes == 0 || cfg.max_value_bytes == 0)
    return invalid("key and value limits must be positive");
  if (cfg.default_timeout.count() <= 0 || cfg.default_timeout > cfg.max_timeout)
    return invalid("the default timeout must be positive and at most the maximum timeout");
  if (cfg.scheduler_threads == 0) return invalid("--threads must be at least 1");
  constexpr size_t frame_overhead = size_t{64} << 10;  // options, context, CAF framing
  if (cfg.max_frame_bytes < cfg.max_value_bytes + cfg.max_key_bytes + frame_overhead)
    return invalid("max_frame_bytes (" + std::to_string(cfg.max_frame_bytes) +
                   ") must exceed the key and value limits plus 64 KiB");
  if (cfg.gossip_interval.count() <= 0 || cfg.gossip_fanout == 0)
    return invalid("the gossip interval and fanout must be positive");
  if (cfg.suspect_after <= cfg.gossip_interval)
    return invalid("suspect_after_ms (" + std::to_string(cfg.suspect_after.count()) +
                   ") must exceed the gossip interval (" +
                   std::to_string(cfg.gossip_interval.count()) + " ms)");
  if (!(cfg.phi_threshold > 0)) return invalid("phi_threshold must be positive");
  if (cfg.handoff_batch_keys == 0 || cfg.handoff_batch_keys > 1024)
    return invalid("handoff_batch_keys must be between 1 and 1024");
  if (cfg.hint_batch_keys == 0 || cfg.hint_batch_keys > 1024)
    return invalid("hint_batch_keys must be between 1 and 1024");
  if (cfg.hint_max_age.count() <= 0 || cfg.hint_replay_interval.count() <= 0)
    return invalid("hint_max_age_ms and hint_replay_interval_ms must be positive");
  // A hint older than the grace period could bring back a value whose tombstone is gone.
  if (cfg.hint_max_age >= cfg.tombstone_grace)
    return invalid("hint_max_age_ms (" + std::to_string(cfg.hint_max_age.count()) +
                   ") must be below tombstone_grace_ms (" +
                   std::to_string(cfg.tombstone_grace.count()) +
                   "): an older hint could resurrect a deleted value");
  if (cfg.merkle_leaves < 1 || cfg.merkle_leaves > 65536 ||
      (cfg.merkle_leaves & (cfg.merkle_leaves - 1)) != 0)
    return invalid("merkle_leaves must be a power of two from 1 to 65536");
  if (cfg.anti_entropy_sweep.count() <= 0 || cfg.anti_entropy_keys_per_second == 0)
    return invalid("anti_entropy_sweep_ms and anti_entropy_keys_per_second must be positive");
  if (cfg.compaction_interval.count() <= 0)
    return invalid("compaction_interval_ms must be positive");
  if (cfg.namespaces.count("default") == 0) return invalid("the 'default' namespace is missing");
  for (auto& [name, ns] : cfg.namespaces)
    if (auto err = cluster::validate(ns)) return err;
  return caf::none;
}

caf::error load_toml(const std::string& path, node_config& cfg) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string where;
    if (e.source().begin) where = ":" + std::to_string(e.source().begin.line);
    return invalid("config file " + path + where + ": " + std::string{e.description()});
  }
  read(doc, "id", cfg.node_id);
  read(doc, "data_dir", cfg.data_dir);
  read(doc, "rack", cfg.rack);
  read(doc, "datacenter", cfg.datacenter);
  read(doc, "http", cfg.http);
  read(doc, "log_level", cfg.log_level);
  if (auto v = doc["listen"].value<std::string>()) {
    auto hp = parse_host_port(*v);
    if (!hp) return hp.error();
    cfg.listen = *hp;
  }
  if (auto arr = doc["seeds"].as_array()) {
    cfg.seeds.clear();
    for (auto& item : *arr) {
      auto hp = parse_host_port(item.value_or(std::string{}));
      if (!hp) return hp.error();
      cfg.seeds.push_back(*hp);
    }
  }
  if (auto v = doc["sync"].value<std::string>()) {
    if (*v != "always" && *v != "none") return invalid("sync must be 'always' or 'none'");
    cfg.sync = *v == "always";
  }
  read(doc, "weight", cfg.weight);
  read(doc, "partitions", cfg.partitions);
  read(doc, "replica_actors", cfg.replica_actors);
  read(doc, "tokens_per_weight", cfg.tokens_per_weight);
  read(doc, "threads", cfg.scheduler_threads);
  read(doc, "work_stealing", cfg.work_stealing);
  read(doc, "middleman_workers", cfg.middleman_workers);
  if (auto v = doc["block_cache_mb"].value<int64_t>()) cfg.block_cache_bytes = size_t(*v) << 20;
  read(doc, "max_key_bytes", cfg.max_key_bytes);
  read(doc, "max_value_bytes", cfg.max_value_bytes);
  read(doc, "max_context_entries", cfg.max_context_entries);
  read(doc, "max_frame_bytes", cfg.max_frame_bytes);
  read(doc, "max_peer_message_bytes", cfg.max_peer_message_bytes);
  read(doc, "max_connections", cfg.max_connections);
  read_ms(doc, "default_timeout_ms", cfg.default_timeout);
  read_ms(doc, "max_timeout_ms", cfg.max_timeout);
  read_ms(doc, "fallback_after_ms", cfg.fallback_after);
  read_ms(doc, "gossip_interval_ms", cfg.gossip_interval);
  read(doc, "gossip_fanout", cfg.gossip_fanout);
  read_ms(doc, "suspect_after_ms", cfg.suspect_after);
  read(doc, "phi_threshold", cfg.phi_threshold);
  read(doc, "handoff_batch_keys", cfg.handoff_batch_keys);
  read_ms(doc, "handoff_settle_ms", cfg.handoff_settle);
  read(doc, "hint_max_bytes", cfg.hint_max_bytes);
  if (auto v = doc["hint_max_mb"].value<int64_t>()) cfg.hint_max_bytes = uint64_t(*v) << 20;
  read_ms(doc, "hint_max_age_ms", cfg.hint_max_age);
  read(doc, "hint_batch_keys", cfg.hint_batch_keys);
  read_ms(doc, "hint_replay_interval_ms", cfg.hint_replay_interval);
  read(doc, "anti_entropy", cfg.anti_entropy);
  read_ms(doc, "anti_entropy_sweep_ms", cfg.anti_entropy_sweep);
  read(doc, "anti_entropy_keys_per_second", cfg.anti_entropy_keys_per_second);
  read(doc, "merkle_leaves", cfg.merkle_leaves);
  read_ms(doc, "tombstone_grace_ms", cfg.tombstone_grace);
  read_ms(doc, "compaction_interval_ms", cfg.compaction_interval);
  read(doc, "max_restarts", cfg.max_restarts);
  read_ms(doc, "restart_window_ms", cfg.restart_window);
  if (auto tbl = doc["namespaces"].as_table()) {
    for (auto& [name, node] : *tbl) {
      cluster::namespace_config ns;
      ns.name = std::string{name.str()};
      if (auto t = node.as_table()) {
        read(*t, "n", ns.n);
        read(*t, "r", ns.r);
        read(*t, "w", ns.w);
        read(*t, "lww", ns.lww);
        read(*t, "strict", ns.strict);
        read(*t, "ttl_ms", ns.ttl_ms);
        read(*t, "max_object_bytes", ns.max_object_bytes);
        read(*t, "max_siblings", ns.max_siblings);
      }
      cfg.namespaces[ns.name] = ns;
    }
  }
  return caf::none;
}

caf::expected<cluster::namespace_config> parse_namespace(const std::string& text) {
  cluster::namespace_config ns;
  auto colon = text.find(':');
  ns.name = text.substr(0, colon);
  if (ns.name.empty()) return invalid("namespace needs a name: '" + text + "'");
  if (colon == std::string::npos) return ns;
  std::string_view rest{text};
  rest.remove_prefix(colon + 1);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      return invalid("namespace '" + ns.name + "': expected key=value, got '" + std::string{item} +
                     "'");
    if (auto err = apply_namespace_setting(ns, item.substr(0, eq), item.substr(eq + 1))) return err;
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  return ns;
}

}  // namespace kv::actors
