#include "client/bench/report.hpp"

#include <cstdio>
#include <sstream>

namespace kv::bench {

namespace {

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

std::string seconds_text(std::chrono::nanoseconds d) {
  auto s = std::chrono::duration<double>(d).count();
  return fixed(s, s == static_cast<int64_t>(s) ? 0 : 1) + " s";
}

std::string quorum_text(uint32_t value) {
  return value == 0 ? "default" : std::to_string(value);
}

std::string header(const report& r) {
  auto& c = r.cfg;
  std::string nodes;
  for (auto& n : c.nodes) nodes += (nodes.empty() ? "" : ",") + n;
  std::ostringstream out;
  out << "kvbench: target " << to_string(c.tgt) << ", nodes " << nodes << ", workload "
      << to_string(c.wl) << " (" << fixed(read_fraction(c.wl) * 100, 0) << "% reads), "
      << to_string(c.dist) << ", " << c.records << " records, key " << c.key_size << " B, value "
      << c.value_size << " B, concurrency " << c.concurrency;
  if (c.loads() && c.load_in_flight() != c.concurrency)
    out << ", load concurrency " << c.load_in_flight();
  if (c.load_only)
    out << ", load only";
  else
    out << ", warm-up " << seconds_text(c.warmup) << ", duration " << seconds_text(c.duration);
  if (c.tgt == target::ringkv)
    out << ", n/r/w " << quorum_text(c.n) << "/" << quorum_text(c.r) << "/" << quorum_text(c.w)
        << ", ns " << (c.ns.empty() ? "default" : c.ns);
  if (c.redis_wait > 0) out << ", WAIT " << c.redis_wait;
  out << ", seed " << c.seed;
  return out.str();
}

std::string errors_text(const std::map<std::string, uint64_t>& errors) {
  std::string text;
  for (auto& [code, count] : errors)
    text += (text.empty() ? "" : ", ") + code + " " + std::to_string(count);
  return text.empty() ? "0" : text;
}

void print_row(std::ostream& out, const char* name, const histogram& h, double seconds,
               const std::map<std::string, uint64_t>& errors) {
  char line[256];
  auto rate = seconds > 0 ? static_cast<double>(h.count()) / seconds : 0.0;
  std::snprintf(line, sizeof(line), "%-7s %10llu %11s %10s %10s %10s %10s %10s  ", name,
                static_cast<unsigned long long>(h.count()), fixed(rate, 1).c_str(),
                format_latency(h.percentile(0.50)).c_str(),
                format_latency(h.percentile(0.95)).c_str(),
                format_latency(h.percentile(0.99)).c_str(),
                format_latency(h.percentile(0.999)).c_str(), format_latency(h.max()).c_str());
  out << line << errors_text(errors) << "\n";
}

void print_phase(std::ostream& out, const phase_stats& p, bool per_op) {
  char line[256];
  std::snprintf(line, sizeof(line), "%-7s %10s %11s %10s %10s %10s %10s %10s  %s\n", "op", "count",
                "ops/s", "p50", "p95", "p99", "p99.9", "max", "errors");
  out << line;
  auto seconds = std::chrono::duration<double>(p.elapsed).count();
  if (per_op) {
    print_row(out, "read", p.by_op[0].latency_ns, seconds, p.by_op[0].errors);
    print_row(out, "update", p.by_op[1].latency_ns, seconds, p.by_op[1].errors);
  }
  print_row(out, "total", p.total_ns, seconds, p.errors_by_code());
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string json_counts(const std::map<std::string, uint64_t>& counts) {
  std::string out = "{";
  for (auto& [name, n] : counts)
    out += (out.size() > 1 ? "," : "") + json_string(name) + ":" + std::to_string(n);
  return out + "}";
}

std::string us(uint64_t ns) {
  return fixed(static_cast<double>(ns) / 1000.0, 3);
}

std::string json_latency(const histogram& h) {
  return "{\"p50\":" + us(h.percentile(0.50)) + ",\"p95\":" + us(h.percentile(0.95)) +
         ",\"p99\":" + us(h.percentile(0.99)) + ",\"p999\":" + us(h.percentile(0.999)) +
         ",\"max\":" + us(h.max()) + ",\"min\":" + us(h.min()) +
         ",\"mean\":" + fixed(h.mean() / 1000.0, 3) + "}";
}

std::string json_op(const op_stats& s, double seconds) {
  auto n = s.latency_ns.count();
  return "{\"ops\":" + std::to_string(n) +
         ",\"throughput\":" + fixed(seconds > 0 ? static_cast<double>(n) / seconds : 0.0, 3) +
         ",\"latency_us\":" + json_latency(s.latency_ns) + ",\"errors\":" + json_counts(s.errors) +
         "}";
}

// The top-level fields of one phase: throughput, ops, errors, latency, per op.
std::string json_phase(const phase_stats& p) {
  auto seconds = std::chrono::duration<double>(p.elapsed).count();
  return "\"throughput\":" + fixed(p.throughput(), 3) + ",\"ops\":" + std::to_string(p.ops()) +
         ",\"elapsed_s\":" + fixed(seconds, 6) + ",\"error_count\":" + std::to_string(p.errors()) +
         ",\"errors\":" + json_counts(p.errors_by_code()) +
         ",\"latency_us\":" + json_latency(p.total_ns) +
         ",\"read\":" + json_op(p.by_op[0], seconds) +
         ",\"update\":" + json_op(p.by_op[1], seconds);
}

std::string json_ints(const std::vector<int>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out + "]";
}

// us_per_op is null when the run completed no operation.
std::string json_cpu(const cpu_usage& cpu, uint64_t ops) {
  auto per_op = cpu.us_per_op(ops);
  return "{\"client_s\":" + fixed(cpu.client_s, 6) + ",\"servers_s\":" + fixed(cpu.servers_s, 6) +
         ",\"processes\":" + std::to_string(cpu.processes) +
         ",\"unreadable\":" + json_ints(cpu.unreadable) +
         ",\"us_per_op\":" + (per_op ? fixed(*per_op, 3) : "null") +
         ",\"window_s\":" + fixed(std::chrono::duration<double>(cpu.window).count(), 6) + "}";
}

// "175 us" for 175.4 microseconds.
std::string micros_text(double us) {
  return format_latency(static_cast<uint64_t>(us * 1000.0 + 0.5));
}

std::string json_config(const bench_config& c) {
  std::string nodes;
  for (auto& n : c.nodes) nodes += (nodes.empty() ? "" : ",") + json_string(n);
  auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()); };
  return "{\"target\":" + json_string(std::string{to_string(c.tgt)}) + ",\"nodes\":[" + nodes +
         "],\"records\":" + std::to_string(c.records) +
         ",\"key_size\":" + std::to_string(c.key_size) +
         ",\"key_prefix\":" + json_string(c.key_prefix) +
         ",\"value_size\":" + std::to_string(c.value_size) +
         ",\"load\":" + (c.load_only ? "true" : "false") +
         ",\"no_load\":" + (c.no_load ? "true" : "false") +
         ",\"workload\":" + json_string(std::string{to_string(c.wl)}) +
         ",\"distribution\":" + json_string(std::string{to_string(c.dist)}) +
         ",\"concurrency\":" + std::to_string(c.concurrency) +
         ",\"load_concurrency\":" + std::to_string(c.load_in_flight()) +
         ",\"warmup_ms\":" + ms(c.warmup) + ",\"duration_ms\":" + ms(c.duration) +
         ",\"n\":" + std::to_string(c.n) + ",\"r\":" + std::to_string(c.r) +
         ",\"w\":" + std::to_string(c.w) + ",\"ns\":" + json_string(c.ns) +
         ",\"timeout_ms\":" + std::to_string(c.timeout_ms) +
         ",\"redis_wait\":" + std::to_string(c.redis_wait) + ",\"seed\":" + std::to_string(c.seed) +
         ",\"threads\":" + std::to_string(c.threads) + ",\"cpu_pids\":" + json_ints(c.cpu_pids) +
         "}";
}

}  // namespace

std::string format_latency(uint64_t ns) {
  auto v = static_cast<double>(ns);
  auto three = [](double x, const char* unit) {
    int decimals = x < 10 ? 2 : x < 100 ? 1 : 0;
    return fixed(x, decimals) + " " + unit;
  };
  if (v < 1e6) return three(v / 1e3, "us");
  if (v < 1e9) return three(v / 1e6, "ms");
  return three(v / 1e9, "s");
}

std::string progress_line(const progress& p, double ops_per_second) {
  std::ostringstream out;
  out << "[" << to_string(p.current) << "] "
      << fixed(std::chrono::duration<double>(p.elapsed).count(), 1) << " s  ops " << p.ops << "  "
      << fixed(ops_per_second, 0) << " ops/s  p50 " << format_latency(p.p50_ns) << "  p99 "
      << format_latency(p.p99_ns) << "  errors " << p.errors;
  return out.str();
}

std::string cpu_line(const report& r) {
  if (!r.cpu || !r.run) return {};
  auto& cpu = *r.cpu;
  auto ops = r.run->ops();
  auto per_op = [ops](double seconds) {
    return ops == 0 ? std::string{"-"} : micros_text(seconds / static_cast<double>(ops) * 1e6);
  };
  std::ostringstream out;
  out << "cpu: " << (ops == 0 ? "n/a (no operation succeeded)" : per_op(cpu.total_s()))
      << " per operation (";
  if (!r.cfg.cpu_pids.empty())
    out << "servers " << per_op(cpu.servers_s) << " in " << cpu.processes
        << (cpu.processes == 1 ? " process" : " processes") << ", ";
  out << "kvbench " << per_op(cpu.client_s);
  if (r.cfg.cpu_pids.empty()) out << "; servers not counted without --cpu-pids";
  out << ") over the measured " << fixed(std::chrono::duration<double>(cpu.window).count(), 1)
      << " s";
  if (!cpu.unreadable.empty()) {
    out << "; not counted, unreadable (gone or not ours):";
    for (int pid : cpu.unreadable) out << " " << pid;
  }
  return out.str();
}

void print_table(std::ostream& out, const report& r) {
  out << header(r) << "\n";
  for (auto& note : r.notes) out << "note: " << note << "\n";
  if (r.load) {
    out << "load: " << r.load->ops() << " records in "
        << fixed(std::chrono::duration<double>(r.load->elapsed).count(), 2) << " s ("
        << fixed(r.load->throughput(), 1) << " ops/s), errors "
        << errors_text(r.load->errors_by_code()) << "\n";
    if (!r.run) print_phase(out, *r.load, false);
  }
  if (r.run) print_phase(out, *r.run, true);
  if (auto line = cpu_line(r); !line.empty()) out << line << "\n";
  if (!r.counters.empty()) {
    out << "counters:";
    for (auto& [name, n] : r.counters) out << " " << name << " " << n;
    out << "\n";
  }
}

std::string to_json(const report& r) {
  std::string out = "{\"target\":" + json_string(std::string{to_string(r.cfg.tgt)}) +
                    ",\"config\":" + json_config(r.cfg) + ",";
  const auto& main = r.run ? *r.run : r.load ? *r.load : phase_stats{};
  out += json_phase(main);
  if (r.cpu && r.run) out += ",\"cpu\":" + json_cpu(*r.cpu, r.run->ops());
  if (r.load) out += ",\"load\":{" + json_phase(*r.load) + "}";
  out += ",\"counters\":" + json_counts(r.counters) + ",\"notes\":[";
  for (size_t i = 0; i < r.notes.size(); ++i) out += (i ? "," : "") + json_string(r.notes[i]);
  return out + "]}\n";
}

}  // namespace kv::bench
