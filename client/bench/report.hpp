// client/bench/report.hpp
// What kvbench prints: the live progress line (stderr), the final table (stdout) and the JSON
// document (--json). Latencies are recorded in nanoseconds and shown in us, ms or s; JSON
// carries microseconds. No CAF, no I/O beyond the stream given.
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "client/bench/config.hpp"
#include "client/bench/cpu.hpp"
#include "client/bench/stats.hpp"

namespace kv::bench {

struct report {
  bench_config cfg;
  std::optional<phase_stats> load;  // when the load phase ran
  std::optional<phase_stats> run;   // unless --load
  std::map<std::string, uint64_t> counters;
  std::vector<std::string> notes;
  std::optional<cpu_usage> cpu;  // over the measured window, when the run reached it
};

// "812 us", "1.20 ms", "3.40 s": three significant digits.
std::string format_latency(uint64_t ns);

// "[run] 4.0 s  ops 160123  40031 ops/s  p50 712 us  p99 2.31 ms  errors 0"
std::string progress_line(const progress& p, double ops_per_second);

// "cpu: 212 us per operation (servers 175 us in 3 processes, kvbench 37 us) over the
// measured 10.0 s", per successful operation of the run; "" without a CPU measurement.
std::string cpu_line(const report& r);

// The run described in one line, then one row per operation type and the total.
void print_table(std::ostream& out, const report& r);

std::string to_json(const report& r);

}  // namespace kv::bench
