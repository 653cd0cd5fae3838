// actors/node/metrics.hpp
// Counters and latency histograms of one node, updated lock-free by the actors that see the
// events (FSMs count every answered request, the coordinator every request it rejects, the
// supervisor every restart) and rendered in the Prometheus text format for GET /metrics.
#pragma once

#include <initializer_list>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "messages/errc.hpp"

namespace kv::actors {

enum class op : uint8_t { put, get, del };
constexpr size_t op_count = 3;
constexpr size_t code_count = static_cast<size_t>(errc::internal) + 1;  // errc values

struct latency_histogram {
  // Upper bounds in microseconds; the last bucket is +Inf.
  static constexpr std::array<uint64_t, 15> bounds_us = {100,    250,    500,     1000,    2500,
                                                         5000,   10000,  25000,   50000,   100000,
                                                         250000, 500000, 1000000, 2500000, 5000000};
  std::array<std::atomic<uint64_t>, bounds_us.size() + 1> buckets{};
  std::atomic<uint64_t> sum_us{0};
  std::atomic<uint64_t> count{0};

  void record(std::chrono::microseconds elapsed);
};

// How many batches went out and how many items they held, summed over every sender of a kind
// in a node (actors/net/batching.hpp counts them): items / batches is how well batching works.
struct batch_counters {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> items{0};
};

struct node_metrics {
  std::array<std::array<std::atomic<uint64_t>, code_count>, op_count> requests{};
  std::array<latency_histogram, op_count> latency;
  std::atomic<uint64_t> actor_restarts{0};

  // Healing (hint store, anti-entropy, compaction).
  std::atomic<uint64_t> hints_pending{0};  // gauge: hints held for other members
  std::atomic<uint64_t> hint_bytes{0};     // gauge
  std::atomic<uint64_t> hints_replayed{0};
  std::atomic<uint64_t> hints_dropped{0};  // for exceeding the age or size bound
  std::atomic<uint64_t> repair_exchanges{0};
  std::atomic<uint64_t> repair_keys{0};  // keys anti-entropy wrote to either side
  std::atomic<uint64_t> tombstones_purged{0};
  std::atomic<uint64_t> expired_dropped{0};

  // Between nodes: calls the peer links send, results the front sends back.
  batch_counters calls_out;
  batch_counters results_out;

  // An answered request: its outcome and how long the client waited for it.
  void answered(op kind, errc code, std::chrono::microseconds elapsed) {
    requests[static_cast<size_t>(kind)][static_cast<size_t>(code)].fetch_add(
        1, std::memory_order_relaxed);
    latency[static_cast<size_t>(kind)].record(elapsed);
  }

  // Appends the counters and histograms in the Prometheus text format.
  void render(std::string& out) const;
};

// One "name value" line (with HELP and TYPE) for gauges and counters kept elsewhere.
void render_value(std::string& out, const char* name, const char* type, const char* help,
                  double value);

// One metric with a line per value of one label: name{label="client"} 3 ...
struct labeled_value {
  const char* label_value;
  double value;
};
void render_labeled(std::string& out, const char* name, const char* type, const char* help,
                    const char* label, std::initializer_list<labeled_value> values);

}  // namespace kv::actors
