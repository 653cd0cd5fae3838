// kvnode: one ringkv node. Flags override the config file, which overrides the defaults.
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "actors/node.hpp"
#include "messages/errc.hpp"

namespace {

using kv::actors::node_config;

// Flags as given; unset ones leave the file's or the default value alone.
struct flags {
  std::optional<std::string> config, id, listen, data_dir, seeds, rack, dc, http, sync, log_level;
  std::optional<uint32_t> weight, partitions, replicas, threads, max_restarts;
  std::optional<size_t> block_cache_mb, max_key_bytes, max_value_bytes;
  std::optional<int64_t> default_timeout_ms, restart_window_ms, gossip_interval_ms,
      suspect_after_ms;
  std::optional<double> phi_threshold;
  std::vector<std::string> namespaces;
};

void add_options(CLI::App& app, flags& f) {
  app.add_option("--config", f.config, "TOML configuration file (flags override it)");
  app.add_option("--id", f.id, "node id, unique in the cluster (default n1)");
  app.add_option("--listen", f.listen,
                 "HOST:PORT to serve clients and peers (default 127.0.0.1:7101)");
  app.add_option("--data-dir", f.data_dir, "data directory; created if missing (required)");
  app.add_option("--seeds", f.seeds,
                 "HOST:PORT of members to join through, comma-separated; any one live member\n"
                 "is enough, gossip finds the rest (this node's own may be listed too);\n"
                 "none = a cluster of one");
  app.add_option("--rack", f.rack, "rack of this node (default rack1)");
  app.add_option("--dc", f.dc, "datacenter of this node (default dc1)");
  app.add_option("--weight", f.weight, "share of the data relative to other nodes (default 1)");
  app.add_option("--http", f.http, "HOST:PORT for /health and /metrics (default off)");
  app.add_option("--sync", f.sync,
                 "always: fsync the commit log before acknowledging a write (default);\n"
                 "none: acknowledge before the fsync -- FASTER, BUT THE LAST WRITES ARE LOST\n"
                 "ON POWER LOSS (a crash of the process alone loses nothing)")
      ->check(CLI::IsMember({"always", "none"}));
  app.add_option("--namespace", f.namespaces,
                 "namespace NAME[:n=3,r=2,w=2,lww=true]; repeatable ('default' always exists)");
  app.add_option("--partitions", f.partitions,
                 "partitions Q, a power of two, fixed for the life of the data (default 256)");
  app.add_option("--replicas", f.replicas,
                 "replica actors (threads) per node, a power of two (default: the cores,\n"
                 "rounded up to a power of two, at least 2)");
  app.add_option("--block-cache-mb", f.block_cache_mb, "RocksDB block cache in MiB (default 128)");
  app.add_option("--max-key-bytes", f.max_key_bytes, "largest key accepted (default 1024)");
  app.add_option("--max-value-bytes", f.max_value_bytes,
                 "largest value accepted (default 1048576)");
  app.add_option("--default-timeout-ms", f.default_timeout_ms,
                 "deadline of requests that set none (default 5000)");
  app.add_option("--max-restarts", f.max_restarts,
                 "actor restarts tolerated per window before the node exits (default 20)");
  app.add_option("--restart-window-ms", f.restart_window_ms,
                 "window of --max-restarts (default 10000)");
  app.add_option("--gossip-interval-ms", f.gossip_interval_ms,
                 "gossip round: heartbeat and member table to a few peers (default 200)");
  app.add_option("--suspect-after-ms", f.suspect_after_ms,
                 "silence before a member is suspected; down needs a second source or phi\n"
                 "(default 2000)");
  app.add_option("--phi-threshold", f.phi_threshold,
                 "phi-accrual score that alone declares a silent member down (default 8)");
  app.add_option("--threads", f.threads, "scheduler threads (default 2)");
  app.add_option("--log-level", f.log_level,
                 "trace, debug, info, warn, error or off (default info)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

caf::error apply(const flags& f, node_config& cfg) {
  if (f.config)
    if (auto err = kv::actors::load_toml(*f.config, cfg)) return err;
  auto set = [](auto& field, const auto& value) {
    if (value) field = *value;
  };
  set(cfg.node_id, f.id);
  set(cfg.data_dir, f.data_dir);
  set(cfg.rack, f.rack);
  set(cfg.datacenter, f.dc);
  set(cfg.http, f.http);
  set(cfg.log_level, f.log_level);
  set(cfg.weight, f.weight);
  set(cfg.partitions, f.partitions);
  set(cfg.replica_actors, f.replicas);
  set(cfg.scheduler_threads, f.threads);
  set(cfg.max_restarts, f.max_restarts);
  set(cfg.max_key_bytes, f.max_key_bytes);
  set(cfg.max_value_bytes, f.max_value_bytes);
  if (f.sync) cfg.sync = *f.sync == "always";
  if (f.block_cache_mb) cfg.block_cache_bytes = *f.block_cache_mb << 20;
  if (f.default_timeout_ms) cfg.default_timeout = std::chrono::milliseconds{*f.default_timeout_ms};
  if (f.restart_window_ms) cfg.restart_window = std::chrono::milliseconds{*f.restart_window_ms};
  if (f.gossip_interval_ms) cfg.gossip_interval = std::chrono::milliseconds{*f.gossip_interval_ms};
  if (f.suspect_after_ms) cfg.suspect_after = std::chrono::milliseconds{*f.suspect_after_ms};
  set(cfg.phi_threshold, f.phi_threshold);
  if (f.listen) {
    auto hp = kv::actors::parse_host_port(*f.listen);
    if (!hp) return hp.error();
    cfg.listen = *hp;
  }
  if (f.seeds) {
    cfg.seeds.clear();
    std::stringstream list{*f.seeds};
    for (std::string item; std::getline(list, item, ',');) {
      if (item.empty()) continue;
      auto hp = kv::actors::parse_host_port(item);
      if (!hp) return hp.error();
      cfg.seeds.push_back(*hp);
    }
  }
  for (auto& text : f.namespaces) {
    auto ns = kv::actors::parse_namespace(text);
    if (!ns) return ns.error();
    cfg.namespaces[ns->name] = *ns;
  }
  kv::actors::apply_namespace_defaults(cfg);
  return kv::actors::validate(cfg);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "kvnode: one node of a ringkv cluster. Prints 'ready <id> <host:port>' on stdout\n"
      "once it serves requests; logs go to stderr. Stop it with SIGTERM or SIGINT.\n"
      "Exit codes: 0 clean stop, 1 could not start, 2 bad usage, 3 node sick\n"
      "(too many actor restarts)."};
  flags f;
  add_options(app, f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kv::actors::exit_usage;
  }
  node_config cfg;
  if (auto err = apply(f, cfg)) {
    std::cerr << "kvnode: " << kv::describe(err) << "\n";
    return kv::actors::exit_usage;
  }
  return kv::actors::run_node(std::move(cfg));
}
