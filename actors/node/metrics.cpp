#include "actors/node/metrics.hpp"

#include <cstdio>

namespace kv::actors {
namespace {

constexpr const char* op_names[op_count] = {"put", "get", "delete"};

template <class... Ts>
void append(std::string& out, const char* fmt, Ts... xs) {
  char buf[256];
  int n = std::snprintf(buf, sizeof(buf), fmt, xs...);
  if (n > 0) out.append(buf, static_cast<size_t>(n) < sizeof(buf) ? n : sizeof(buf) - 1);
}

}  // namespace

void latency_histogram::record(std::chrono::microseconds elapsed) {
  auto us = static_cast<uint64_t>(elapsed.count() < 0 ? 0 : elapsed.count());
  size_t i = 0;
  while (i < bounds_us.size() && us > bounds_us[i]) ++i;
  buckets[i].fetch_add(1, std::memory_order_relaxed);
  sum_us.fetch_add(us, std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
}

void node_metrics::render(std::string& out) const {
  out +=
      "# HELP ringkv_requests_total Client requests answered, by operation and outcome.\n"
      "# TYPE ringkv_requests_total counter\n";
  for (size_t o = 0; o < op_count; ++o)
    for (size_t c = 0; c < code_count; ++c)
      if (auto n = requests[o][c].load(std::memory_order_relaxed); n > 0 || c == 0)
        append(out, "ringkv_requests_total{op=\"%s\",code=\"%s\"} %llu\n", op_names[o],
               std::string{to_string(static_cast<errc>(c))}.c_str(),
               static_cast<unsigned long long>(n));
  out +=
      "# HELP ringkv_request_seconds Time from request to answer, as the node saw it.\n"
      "# TYPE ringkv_request_seconds histogram\n";
  for (size_t o = 0; o < op_count; ++o) {
    auto& h = latency[o];
    uint64_t cumulative = 0;
    for (size_t b = 0; b < h.buckets.size(); ++b) {
      cumulative += h.buckets[b].load(std::memory_order_relaxed);
      if (b < h.bounds_us.size())
        append(out, "ringkv_request_seconds_bucket{op=\"%s\",le=\"%g\"} %llu\n", op_names[o],
               h.bounds_us[b] / 1e6, static_cast<unsigned long long>(cumulative));
      else
        append(out, "ringkv_request_seconds_bucket{op=\"%s\",le=\"+Inf\"} %llu\n", op_names[o],
               static_cast<unsigned long long>(cumulative));
    }
    append(out, "ringkv_request_seconds_sum{op=\"%s\"} %g\n", op_names[o], h.sum_us.load() / 1e6);
    append(out, "ringkv_request_seconds_count{op=\"%s\"} %llu\n", op_names[o],
           static_cast<unsigned long long>(h.count.load()));
  }
  render_value(out, "ringkv_actor_restarts_total", "counter", "Actors restarted by the supervisor.",
               static_cast<double>(actor_restarts.load()));
  auto value = [&](const char* name, const char* type, const char* help,
                   const std::atomic<uint64_t>& v) {
    render_value(out, name, type, help, static_cast<double>(v.load(std::memory_order_relaxed)));
  };
  value("ringkv_hints_pending", "gauge", "Hints held for other members.", hints_pending);
  value("ringkv_hint_bytes", "gauge", "Bytes of the hints held for other members.", hint_bytes);
  value("ringkv_hints_replayed_total", "counter", "Hints delivered to their owner and deleted.",
        hints_replayed);
  value("ringkv_hints_dropped_total", "counter",
        "Hints dropped for exceeding the age or size bound.", hints_dropped);
  value("ringkv_repair_exchanges_total", "counter", "Anti-entropy exchanges completed.",
        repair_exchanges);
  value("ringkv_repair_keys_total", "counter", "Keys anti-entropy wrote to either side.",
        repair_keys);
  value("ringkv_tombstones_purged_total", "counter",
        "Tombstones removed once every replica held them past the grace period.",
        tombstones_purged);
  value("ringkv_expired_dropped_total", "counter", "Keys removed because their TTL passed.",
        expired_dropped);
  auto load = [](const std::atomic<uint64_t>& v) {
    return static_cast<double>(v.load(std::memory_order_relaxed));
  };
  render_labeled(out, "ringkv_peer_batches_total", "counter",
                 "Messages to other nodes: batches of calls (peer links) and of results (the "
                 "peer listener's answers).",
                 "kind",
                 {{"calls", load(calls_out.batches)}, {"results", load(results_out.batches)}});
  render_labeled(out, "ringkv_peer_batch_items_total", "counter",
                 "Calls and results those batches held: divided by the batches, how many "
                 "travel together.",
                 "kind", {{"calls", load(calls_out.items)}, {"results", load(results_out.items)}});
}

void render_value(std::string& out, const char* name, const char* type, const char* help,
                  double value) {
  append(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, value);
}

void render_labeled(std::string& out, const char* name, const char* type, const char* help,
                    const char* label, std::initializer_list<labeled_value> values) {
  append(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
  for (auto& v : values) append(out, "%s{%s=\"%s\"} %.17g\n", name, label, v.label_value, v.value);
}

}  // namespace kv::actors
