// Every setting of kvnode, once (see actors/node/settings.hpp). A setting's rule
// (actors/node/setting_rules.hpp) says what its value must be ("an integer from 1 to 1000"); the
// same rule reads the TOML file, reads the flags and, in validate(), checks a configuration built
// in code. Defaults live in node_config and namespace_config; the table shows them by reading a
// default-constructed struct.
#include "actors/node/settings.hpp"

#include <algorithm>
#include <optional>

#include "actors/node/setting_rules.hpp"
#include "cluster/ring.hpp"
#include "messages/errc.hpp"
#include "storage/keys.hpp"

namespace kv::actors {
namespace {

using cluster::namespace_config;
using namespace rules;

// Levenshtein distance: edits (insert, delete, replace) between two short strings.
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

// The known key an unknown one most likely meant: a flag's name written as a key ("dc",
// "block-cache-mb"), a key a few edits away, or the one key it starts ("ttl" for "ttl_ms").
template <class Config>
std::string closest_key(const std::vector<setting<Config>>& table, std::string unknown) {
  std::replace(unknown.begin(), unknown.end(), '-', '_');
  std::string best, prefixed;
  size_t best_distance = std::max<size_t>(1, std::min<size_t>(3, unknown.size() / 3)) + 1;
  size_t prefix_matches = 0;
  for (auto& s : table) {
    auto flag = s.flag.empty() ? std::string{} : s.flag.substr(2);
    std::replace(flag.begin(), flag.end(), '-', '_');
    if (flag == unknown) return s.key;
    if (auto d = distance(unknown, s.key); d < best_distance) {
      best = s.key;
      best_distance = d;
    }
    if (s.key.rfind(unknown + "_", 0) == 0) {
      prefixed = s.key;
      ++prefix_matches;
    }
  }
  return !best.empty() || prefix_matches != 1 ? best : prefixed;
}

template <class Config>
const setting<Config>* find(const std::vector<setting<Config>>& table, std::string_view key) {
  auto i = std::find_if(table.begin(), table.end(), [&](auto& s) { return s.key == key; });
  return i == table.end() ? nullptr : &*i;
}

template <class Config>
std::string unknown_key(const std::vector<setting<Config>>& table, const std::string& prefix,
                        std::string_view key) {
  auto guess = closest_key(table, std::string{key});
  return "unknown key '" + prefix + clip(key) + "'" +
         (guess.empty() ? "" : " (did you mean '" + prefix + guess + "'?)");
}

// Reads the keys of one TOML table (the file, or a [namespaces.NAME]); `prefix` makes a key
// its dotted path in messages. Every key must be known, and is read by its rule.
template <class Config>
caf::error read_table(const std::vector<setting<Config>>& table, const toml::table& doc,
                      const std::string& prefix, Config& cfg) {
  for (auto& [key, value] : doc)
    if (!find(table, key.str()))
      return invalid(where(key.source()) + unknown_key(table, prefix, key.str()));
  for (auto& s : table)
    if (auto v = doc.get(s.key))
      if (auto err = s.how->from_toml(*v, prefix + s.key, cfg)) return err;
  return caf::none;
}

// The [namespaces.NAME] tables; each sets a namespace whole, from the namespace defaults.
caf::error read_namespaces(const toml::node& v, const std::string& key, node_config& cfg) {
  auto tbl = v.as_table();
  if (!tbl)
    return invalid(where(v.source()) + "key '" + key + "': expected tables [" + key +
                   ".NAME], got " + describe(v));
  for (auto& [name, body] : *tbl) {
    auto path = key + "." + std::string{name.str()};
    auto t = body.as_table();
    if (!t)
      return invalid(where(body.source()) + "key '" + clip(path) + "': expected a table [" +
                     clip(path) + "], got " + describe(body));
    namespace_config ns;
    ns.name = std::string{name.str()};
    if (auto err = read_table(namespace_table(), *t, path + ".", ns)) return err;
    cfg.namespaces[ns.name] = ns;
  }
  return caf::none;
}

std::string namespace_keys() {
  std::string result;
  for (auto& s : namespace_table()) result += (result.empty() ? "" : ", ") + s.key;
  return result;
}

// The one setting that is a table of tables in the file and a repeatable flag.
auto namespaces() {
  auto f = std::make_shared<field<node_config>>();
  f->metavar = "NAME[:KEY=VALUE,...]";
  f->expected = "NAME[:KEY=VALUE,...]";
  f->repeatable = true;
  f->from_toml = read_namespaces;
  f->from_text = [](std::string_view text, node_config& cfg) {
    auto ns = parse_namespace(std::string{text});
    if (!ns) return ns.error();
    cfg.namespaces[ns->name] = *ns;
    return caf::error{};
  };
  // Each namespace is checked by validate(), key by key.
  f->show = [](const node_config& cfg) {
    std::vector<std::string> names;
    for (auto& [name, ns] : cfg.namespaces) names.push_back(name);
    return show(names);
  };
  f->holds = [](const node_config&) { return true; };
  return std::shared_ptr<const field<node_config>>{f};
}

// One row of a table. Without `default_text`, the default is read from a default `Config`; a
// default that reads empty shows as no default (a required setting).
template <class Config>
setting<Config> entry(std::string key, std::string flag, std::string help,
                      std::shared_ptr<const field<Config>> how, std::string default_text = {}) {
  if (default_text.empty()) default_text = how->show(Config{});
  return {std::move(key), std::move(flag), std::move(help), std::move(default_text),
          std::move(how)};
}

}  // namespace

const std::vector<namespace_setting>& namespace_table() {
  using nc = namespace_config;
  static const std::vector<namespace_setting> table{
      entry<nc>("n", "", "replicas of every key", integer(&nc::n, 0, 64),
                "3, or 1 on a node without seeds"),
      entry<nc>("r", "", "default read quorum (0: a majority of n)", integer(&nc::r, 0, 64)),
      entry<nc>("w", "", "default write quorum (0: a majority of n)", integer(&nc::w, 0, 64)),
      entry<nc>("lww", "", "true: keep only the newest value instead of siblings (last write wins)",
                boolean(&nc::lww)),
      entry<nc>("strict", "",
                "true: never count fallbacks toward w (sloppy quorum off): UNAVAILABLE instead",
                boolean(&nc::strict)),
      entry<nc>("ttl_ms", "", "versions older than this are hidden, then removed (0: never)",
                integer(&nc::ttl_ms, 0, 100 * year_ms)),
      entry<nc>("max_object_bytes", "",
                "a client write that would take one key's stored object (all its siblings and\n"
                "its context) past this is refused TOO_LARGE; at least max_value_bytes +\n"
                "max_key_bytes + 4096",
                integer(&nc::max_object_bytes, 1024, int64_t{1} << 30)),
      entry<nc>("max_siblings", "",
                "a client write that would take one key past this many siblings (tombstones\n"
                "included) is refused TOO_LARGE",
                integer(&nc::max_siblings, 1, 10000)),
  };
  return table;
}

const std::vector<node_setting>& node_table() {
  using c = node_config;
  static const std::vector<node_setting> table{
      entry<c>("id", "--id", "node id, unique in the cluster",
               text(&c::node_id, valid_node_id, "1 to 64 letters, digits, '-' or '_'")),
      entry<c>("listen", "--listen",
               "HOST:PORT to serve clients on, with the client protocol (docs/protocol.md)",
               address(&c::listen)),
      entry<c>("peer_listen", "--peer-listen",
               "HOST:PORT to serve other nodes on (CAF's BASP); --seeds and member rows name\n"
               "these addresses",
               address(&c::peer_listen), "--listen's host, --listen's port + 100"),
      entry<c>("admin_listen", "--admin-listen",
               "HOST:PORT to serve operator verbs on (kvctl --admin: fail-actor, leave,\n"
               "remove, explain, transfers, hints, compaction, repair-status)",
               address(&c::admin_listen), "127.0.0.1, --listen's port + 200"),
      entry<c>("data_dir", "--data-dir", "data directory; created if missing, made private (0700)",
               text(&c::data_dir)),
      entry<c>("seeds", "--seeds",
               "HOST:PORT of members to join through, comma-separated; any one live member\n"
               "is enough, gossip finds the rest (this node's own may be listed too);\n"
               "none = a cluster of one",
               addresses(&c::seeds), "none"),
      entry<c>("rack", "--rack", "rack of this node",
               text(&c::rack, valid_place, "1 to 64 letters, digits, '.', '-' or '_'")),
      entry<c>("datacenter", "--dc", "datacenter of this node",
               text(&c::datacenter, valid_place, "1 to 64 letters, digits, '.', '-' or '_'")),
      entry<c>("weight", "--weight", "share of the data relative to other nodes",
               integer(&c::weight, 1, cluster::max_weight)),
      entry<c>("http", "--http", "HOST:PORT of the HTTP API, /health, /ready and /metrics",
               text(&c::http), "off"),
      entry<c>("tls_cert", "--tls-cert",
               "PEM certificate of this node (scripts/certs.sh); with --tls-key and --tls-ca,\n"
               "every listener speaks mutual TLS",
               text(&c::tls_cert), "none"),
      entry<c>("tls_key", "--tls-key", "PEM private key of --tls-cert", text(&c::tls_key), "none"),
      entry<c>("tls_ca", "--tls-ca", "PEM certificate of the cluster CA: the only one trusted",
               text(&c::tls_ca), "none"),
      entry<c>("acl", "--acl",
               "ACL file: principals and their rights (docs/security.md); reloaded on SIGHUP",
               text(&c::acl), "none: no credentials checked"),
      entry<c>("insecure", "--insecure",
               "listen on addresses other than loopback without TLS and an ACL (anyone who\n"
               "reaches the node may read, write and administer it)",
               boolean(&c::insecure), "false"),
      entry<c>("chaos", "--chaos", "the admin listener serves fail-actor (chaos testing)",
               boolean(&c::chaos), "false"),
      entry<c>("audit_log", "--audit-log",
               "audit log (JSON lines, 0600, rotated): TLS refusals, authentication failures,\n"
               "denials, operator verbs, membership changes; off: none",
               text(&c::audit_log), "<data-dir>/audit.log"),
      entry<c>("audit_data", "--audit-data", "the audit log records data operations too",
               boolean(&c::audit_data), "false"),
      entry<c>("encryption_key", "--encryption-key",
               "key file (64 hex digits, mode 0600; openssl rand -hex 32): every data file\n"
               "encrypted with AES-256-CTR; only for a node's empty data directory",
               text(&c::encryption_key), "none"),
      entry<c>("sync", "--sync",
               "always: fsync the commit log before acknowledging a write;\n"
               "none: acknowledge before the fsync -- FASTER, BUT THE LAST WRITES ARE LOST\n"
               "ON POWER LOSS (a crash of the process alone loses nothing)",
               sync_mode()),
      entry<c>("namespaces", "--namespace",
               "namespace NAME[:KEY=VALUE,...], e.g. sessions:n=3,w=2,lww=true; repeatable;\n"
               "keys: " +
                   namespace_keys(),
               namespaces(), "only the namespace 'default'"),
      entry<c>("partitions", "--partitions",
               "partitions Q, a power of two, fixed for the life of the data",
               power_of_two(&c::partitions, storage::max_partitions)),
      entry<c>("replica_actors", "--replicas", "replica actors (threads) per node, a power of two",
               power_of_two(&c::replica_actors, 65536),
               "the cores, rounded up to a power of two, at least 2"),
      entry<c>("tokens_per_weight", "", "ring tokens of a weight-1 node; the same on every node",
               integer(&c::tokens_per_weight, 1, 65536)),
      entry<c>("block_cache_mb", "--block-cache-mb", "RocksDB block cache in MiB",
               mebibytes(&c::block_cache_bytes, mib_per_tib)),
      entry<c>("max_key_bytes", "--max-key-bytes", "largest key accepted",
               integer(&c::max_key_bytes, 1, storage::max_user_key_bytes)),
      entry<c>("max_value_bytes", "--max-value-bytes", "largest value accepted",
               integer(&c::max_value_bytes, 1, int64_t{1} << 30)),
      entry<c>("disk_reserve_mb", "--disk-reserve-mb",
               "free disk space kept in reserve, in MiB: writes are refused with a clear error\n"
               "before the data directory's filesystem has less than this free; reads keep\n"
               "serving; writes resume by themselves once space is freed (0: no reserve)",
               mebibytes(&c::disk_reserve_bytes, mib_per_tib)),
      entry<c>("max_context_entries", "", "version-vector entries kept per key (0: no limit)",
               integer(&c::max_context_entries, 0, 65536)),
      entry<c>("max_frame_bytes", "",
               "largest frame a listener accepts; must exceed the key and value limits plus "
               "64 KiB",
               integer(&c::max_frame_bytes, 1, uint32_max)),
      entry<c>("max_peer_message_bytes", "",
               "largest single message between nodes; an object travelling in pieces is\n"
               "reassembled up to this size; at least 4 x the largest max_object_bytes",
               integer(&c::max_peer_message_bytes, 4096, uint32_max)),
      entry<c>("max_connections", "",
               "open connections to each listener; more are closed as they come",
               integer(&c::max_connections, 1, 1000000)),
      entry<c>("client_idle_timeout_ms", "",
               "a client or admin connection that sends nothing for this long is closed",
               millis(&c::client_idle_timeout, 1000)),
      entry<c>("max_in_flight", "",
               "unanswered requests per client connection; beyond it, the node stops reading\n"
               "the connection until some are answered",
               integer(&c::max_in_flight, 1, 65536)),
      entry<c>("default_timeout_ms", "--default-timeout-ms", "deadline of requests that set none",
               millis(&c::default_timeout, 1)),
      entry<c>("max_timeout_ms", "", "requests asking for a longer deadline are rejected",
               millis(&c::max_timeout, 1)),
      entry<c>("gossip_interval_ms", "--gossip-interval-ms",
               "gossip round: heartbeat and member table to a few peers",
               millis(&c::gossip_interval, 1)),
      entry<c>("gossip_fanout", "", "peers each gossip round goes to (plus one that is down)",
               integer(&c::gossip_fanout, 1, 64)),
      entry<c>("suspect_after_ms", "--suspect-after-ms",
               "silence before a member is suspected; down needs a second source or phi",
               millis(&c::suspect_after, 1)),
      entry<c>("phi_threshold", "--phi-threshold",
               "phi-accrual score that alone declares a silent member down",
               positive(&c::phi_threshold, 1000)),
      entry<c>("handoff_batch_keys", "", "keys in flight per partition transfer",
               integer(&c::handoff_batch_keys, 1, 1024)),
      entry<c>("handoff_settle_ms", "", "wait before a transfer's second sweep",
               millis(&c::handoff_settle, 0)),
      entry<c>("fallback_after_ms", "", "a write's replica silent this long gets a fallback",
               millis(&c::fallback_after, 1)),
      entry<c>("hint_max_age_ms", "", "hints older than this are dropped",
               millis(&c::hint_max_age, 1)),
      entry<c>("hint_max_bytes", "", "beyond this, the oldest hints are dropped",
               integer(&c::hint_max_bytes, 0, mib_per_tib << 20)),
      entry<c>("hint_max_mb", "", "hint_max_bytes in MiB",
               mebibytes(&c::hint_max_bytes, mib_per_tib)),
      entry<c>("hint_batch_keys", "", "hints in flight per owner during replay",
               integer(&c::hint_batch_keys, 1, 1024)),
      entry<c>("hint_replay_interval_ms", "", "how often hint bounds and owners are checked",
               millis(&c::hint_replay_interval, 1)),
      entry<c>("anti_entropy", "", "false: no Merkle exchanges", boolean(&c::anti_entropy)),
      entry<c>("anti_entropy_sweep_ms", "", "every held partition is exchanged once per sweep",
               millis(&c::anti_entropy_sweep, 1)),
      entry<c>("anti_entropy_keys_per_second", "", "repairs per second per node",
               integer(&c::anti_entropy_keys_per_second, 1, uint32_max)),
      entry<c>("merkle_leaves", "", "buckets of a partition's Merkle tree; the same on every node",
               power_of_two(&c::merkle_leaves, 65536)),
      entry<c>("tombstone_grace_ms", "", "a tombstone lives at least this long",
               millis(&c::tombstone_grace, 1)),
      entry<c>("compaction_interval_ms", "", "between garbage-collection passes",
               millis(&c::compaction_interval, 1)),
      entry<c>("max_restarts", "--max-restarts",
               "actor restarts tolerated per window before the node exits",
               integer(&c::max_restarts, 0, 1000000)),
      entry<c>("restart_window_ms", "--restart-window-ms", "window of --max-restarts",
               millis(&c::restart_window, 1)),
      entry<c>("threads", "--threads", "scheduler threads",
               integer(&c::scheduler_threads, 1, 1024)),
      entry<c>("work_stealing", "", "CAF's work-stealing scheduler instead of work sharing",
               boolean(&c::work_stealing)),
      entry<c>("middleman_workers", "", "threads that deserialize network messages",
               integer(&c::middleman_workers, 0, 1024)),
      entry<c>(
          "log_level", "--log-level", "log level",
          choice(&c::log_level, {"trace", "debug", "info", "warn", "error", "critical", "off"})),
  };
  return table;
}

const std::string& metavar(const node_setting& s) {
  return s.how->metavar;
}

template <class Config>
const std::string& expected(const setting<Config>& s) {
  return s.how->expected;
}

template const std::string& expected(const node_setting&);
template const std::string& expected(const namespace_setting&);

bool repeatable(const node_setting& s) {
  return s.how->repeatable;
}

caf::error apply_flag(const node_setting& s, std::string_view text, node_config& cfg) {
  if (auto err = s.how->from_text(text, cfg))
    return invalid("flag " + s.flag + ": " + message_of(err));
  return caf::none;
}

template <class Config>
caf::error check(const setting<Config>& s, const Config& cfg) {
  if (s.how->holds(cfg)) return caf::none;
  return invalid("key '" + s.key + "'" + (s.flag.empty() ? "" : " (" + s.flag + ")") +
                 ": expected " + s.how->expected + ", got '" + clip(s.how->show(cfg)) + "'");
}

template caf::error check(const node_setting&, const node_config&);
template caf::error check(const namespace_setting&, const namespace_config&);

caf::error load_toml(const std::string& path, node_config& cfg) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string line;
    if (e.source().begin) line = ":" + std::to_string(e.source().begin.line);
    return invalid("config file " + path + line + ": " + std::string{e.description()});
  }
  return read_table(node_table(), doc, "", cfg);
}

caf::expected<node_config> configure(const std::optional<std::string>& file,
                                     const std::vector<given_flag>& flags) {
  node_config cfg;
  cfg.peer_listen = {};  // derived from --listen unless given
  cfg.admin_listen = {};
  if (file)
    if (auto err = load_toml(*file, cfg)) return err;
  for (auto& given : flags) {
    auto& table = node_table();
    auto s = std::find_if(table.begin(), table.end(),
                          [&](const node_setting& row) { return row.flag == given.flag; });
    if (s == table.end()) return invalid("unknown flag " + clip(given.flag));
    if (auto err = apply_flag(*s, given.text, cfg)) return err;
  }
  apply_listener_defaults(cfg);
  if (cfg.peer_listen.port == 0 || cfg.admin_listen.port == 0)
    return invalid(std::string{cfg.peer_listen.port == 0 ? "--peer-listen" : "--admin-listen"} +
                   ": give a port (the default, --listen's port + " +
                   (cfg.peer_listen.port == 0 ? "100" : "200") + ", is past 65535)");
  apply_namespace_defaults(cfg);
  if (auto err = validate(cfg)) return err;
  return cfg;
}

caf::expected<namespace_config> parse_namespace(const std::string& text) {
  namespace_config ns;
  auto colon = text.find(':');
  ns.name = text.substr(0, colon);
  if (ns.name.empty()) return invalid("expected NAME[:KEY=VALUE,...], got '" + clip(text) + "'");
  auto context = "namespace '" + clip(ns.name) + "': ";
  std::string_view rest =
      colon == std::string::npos ? "" : std::string_view{text}.substr(colon + 1);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      return invalid(context + "expected KEY=VALUE, got '" + clip(item) + "'");
    auto s = find(namespace_table(), item.substr(0, eq));
    if (!s)
      return invalid(context + unknown_key(namespace_table(), "", item.substr(0, eq)) +
                     "; known: " + namespace_keys());
    if (auto err = s->how->from_text(item.substr(eq + 1), ns))
      return invalid(context + "key '" + s->key + "': " + message_of(err));
  }
  return ns;
}

}  // namespace kv::actors
