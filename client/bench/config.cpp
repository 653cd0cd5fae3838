#include "client/bench/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace kv::bench {

std::string_view to_string(target t) {
  switch (t) {
    case target::ringkv:
      return "ringkv";
    case target::redis:
      return "redis";
    case target::redis_cluster:
      return "redis-cluster";
    case target::etcd:
      return "etcd";
    case target::echo:
      return "echo";
  }
  return "?";
}

std::string_view to_string(workload w) {
  switch (w) {
    case workload::a:
      return "A";
    case workload::b:
      return "B";
    case workload::c:
      return "C";
    case workload::w:
      return "W";
  }
  return "?";
}

std::string_view to_string(distribution d) {
  return d == distribution::zipfian ? "zipfian" : "uniform";
}

std::optional<target> parse_target(std::string_view text) {
  for (auto t : {target::ringkv, target::redis, target::redis_cluster, target::etcd, target::echo})
    if (text == to_string(t)) return t;
  return std::nullopt;
}

std::optional<workload> parse_workload(std::string_view text) {
  for (auto w : {workload::a, workload::b, workload::c, workload::w})
    if (text.size() == 1 && (text[0] == to_string(w)[0] || text[0] == to_string(w)[0] + 32))
      return w;
  return std::nullopt;
}

std::optional<distribution> parse_distribution(std::string_view text) {
  for (auto d : {distribution::uniform, distribution::zipfian})
    if (text == to_string(d)) return d;
  return std::nullopt;
}

double read_fraction(workload w) {
  switch (w) {
    case workload::a:
      return 0.5;
    case workload::b:
      return 0.95;
    case workload::c:
      return 1.0;
    case workload::w:
      return 0.0;
  }
  return 1.0;
}

std::optional<endpoint> parse_endpoint(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == text.npos || colon == 0) return std::nullopt;
  unsigned port = 0;
  auto digits = text.substr(colon + 1);
  auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (err != std::errc{} || end != digits.data() + digits.size() || port > 65535)
    return std::nullopt;
  return endpoint{std::string{text.substr(0, colon)}, static_cast<uint16_t>(port)};
}

std::string validate(const bench_config& cfg) {
  if (cfg.nodes.empty()) return "--nodes needs at least one HOST:PORT";
  for (auto& n : cfg.nodes)
    if (auto ep = parse_endpoint(n); !ep || ep->port == 0)
      return "--nodes: '" + n + "' is not HOST:PORT";
  if (cfg.records == 0) return "--records must be at least 1";
  if (cfg.key_prefix.empty() || cfg.key_prefix.size() > 16 ||
      !std::all_of(cfg.key_prefix.begin(), cfg.key_prefix.end(),
                   [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; }))
    return "--key-prefix needs 1 to 16 of A-Z a-z 0-9 _ -, got '" + cfg.key_prefix + "'";
  if (cfg.key_size < cfg.key_prefix.size() + digits_for(cfg.records))
    return "--key-size " + std::to_string(cfg.key_size) + " is too small for " +
           std::to_string(cfg.records) + " records after the prefix '" + cfg.key_prefix +
           "' (needs " + std::to_string(cfg.key_prefix.size() + digits_for(cfg.records)) + ")";
  if (cfg.concurrency == 0) return "--concurrency must be at least 1";
  if (cfg.load_only && cfg.no_load) return "--load and --no-load exclude each other";
  if (cfg.load_only && cfg.tgt == target::echo) return "the echo target stores nothing to load";
  if (cfg.duration.count() <= 0 && !cfg.load_only) return "--duration must be positive";
  if (cfg.warmup.count() < 0) return "--warmup cannot be negative";
  if (cfg.redis_wait > 0 && cfg.tgt != target::redis && cfg.tgt != target::redis_cluster)
    return "--redis-wait applies to the redis targets only";
  bool redis = cfg.tgt == target::redis || cfg.tgt == target::redis_cluster;
  if ((redis || cfg.tgt == target::etcd) && (cfg.n || cfg.r || cfg.w || !cfg.ns.empty()))
    return "--n, --r, --w and --ns apply to ringkv only";
  if (cfg.tgt == target::redis && cfg.nodes.size() > 1)
    return "--target redis drives one server; give one --nodes entry (or use redis-cluster)";
  if (cfg.threads < 1 || cfg.threads > 64) return "--threads must be 1..64";
  for (int pid : cfg.cpu_pids)
    if (pid <= 0) return "--cpu-pids: " + std::to_string(pid) + " is not a process id";
  return {};
}

}  // namespace kv::bench
