// client/bench/config.hpp
// Every setting of a kvbench run, as parsed from the command line (client/kvbench.cpp) and
// copied into the driver; the report prints it back. Plain data, no CAF.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/bench/keys.hpp"

namespace kv::bench {

enum class target { ringkv, redis, redis_cluster, etcd, echo };

// YCSB's core workloads: A 50 % reads / 50 % updates, B 95/5, C reads only; and W, updates
// only (not YCSB's: it compares put throughput with RocksDB's db_bench fillrandom).
enum class workload { a, b, c, w };

struct bench_config {
  target tgt = target::ringkv;
  std::vector<std::string> nodes = {"127.0.0.1:7101"};  // HOST:PORT
  uint64_t records = 100000;
  size_t key_size = 16;
  std::string key_prefix = "k";  // keys: this, then the zero-padded record index
  size_t value_size = 1024;
  bool load_only = false;  // --load: the load phase, nothing else
  bool no_load = false;    // --no-load: the data is already there
  workload wl = workload::a;
  distribution dist = distribution::uniform;
  uint32_t concurrency = 32;      // requests in flight during the run
  uint32_t load_concurrency = 0;  // requests in flight during the load; 0: `concurrency`
  std::chrono::milliseconds warmup{2000};
  std::chrono::milliseconds duration{10000};
  uint32_t n = 0, r = 0, w = 0;  // 0: the namespace default
  std::string ns;                // empty: "default"
  uint32_t timeout_ms = 5000;    // ringkv request deadline
  uint32_t redis_wait = 0;       // WAIT n 0 after each Redis write when > 0
  uint64_t seed = 1;
  uint32_t threads = 1;  // CAF scheduler threads of the ringkv driver and the echo server
  std::string json_path;
  std::string cert, key, ca, token;  // ringkv: credentials (client/options.hpp)
  std::vector<int> cpu_pids;  // processes whose CPU time the run counts (client/bench/cpu.hpp)

  // Whether the load phase runs: not with --no-load, and not against the echo server, which
  // stores nothing.
  bool loads() const { return !no_load && tgt != target::echo; }

  uint32_t load_in_flight() const { return load_concurrency > 0 ? load_concurrency : concurrency; }
};

std::string_view to_string(target t);
std::string_view to_string(workload w);
std::string_view to_string(distribution d);
std::optional<target> parse_target(std::string_view text);
std::optional<workload> parse_workload(std::string_view text);
std::optional<distribution> parse_distribution(std::string_view text);

// Share of reads among the operations of `w`.
double read_fraction(workload w);

struct endpoint {
  std::string host;
  uint16_t port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};

// "HOST:PORT" (the port 0..65535), or nullopt.
std::optional<endpoint> parse_endpoint(std::string_view text);

// Why `cfg` cannot run, or "" when it can.
std::string validate(const bench_config& cfg);

}  // namespace kv::bench
