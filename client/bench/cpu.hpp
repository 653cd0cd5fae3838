// client/bench/cpu.hpp
// CPU time spent over kvbench's measured window: kvbench's own (getrusage) and that of other
// processes on this machine named by --cpu-pids, such as the servers under test, read from
// /proc/PID/stat. kvbench samples at both ends of the window (client/kvbench.cpp) and the
// report divides the difference by the run's operations. No CAF; parse_proc_stat is pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace kv::bench {

// The CPU figures of one /proc/PID/stat line, in clock ticks (sysconf(_SC_CLK_TCK)): the
// process's own user and system time, summed over its threads, and that of the children it
// waited for (a Redis rewrite fork, say).
struct proc_times {
  int64_t pid = 0;
  uint64_t utime = 0, stime = 0, cutime = 0, cstime = 0;
  uint64_t total() const { return utime + stime + cutime + cstime; }
  bool operator==(const proc_times& other) const;
};

// The longest /proc/PID/stat line read, and the longest process name (comm) accepted. Linux
// limits comm to 15 bytes for user processes; kernel workers show longer names.
constexpr size_t max_stat_line = 4096;
constexpr size_t max_comm = 128;

// Parses "PID (COMM) STATE PPID ... UTIME STIME CUTIME CSTIME ...". COMM may hold spaces and
// parentheses, so the fields are counted from the last ')'. nullopt unless the line is whole
// up to a field after cstime: a line cut short is refused, never read as smaller figures.
std::optional<proc_times> parse_proc_stat(std::string_view line);

// PID's CPU time so far (its own and its waited-for children's), or nullopt when /proc holds
// no readable, parseable stat for it (the process is gone, or belongs to another user where
// /proc is mounted hidepid).
std::optional<std::chrono::nanoseconds> process_cpu(int pid);

// The calling process's user + system time so far, over all its threads.
std::chrono::nanoseconds self_cpu();

// CPU times taken at one instant: kvbench's, and each PID's (nullopt: unreadable).
struct cpu_sample {
  std::chrono::steady_clock::time_point at;
  std::chrono::nanoseconds self{0};
  std::vector<std::pair<int, std::optional<std::chrono::nanoseconds>>> pids;
};

cpu_sample take_sample(const std::vector<int>& pids);

// What was spent between two samples of the same PIDs.
struct cpu_usage {
  std::chrono::nanoseconds window{0};  // from the first sample to the second
  double client_s = 0;                 // kvbench itself
  double servers_s = 0;                // the PIDs readable at both ends, together
  uint32_t processes = 0;              // how many those were
  std::vector<int> unreadable;         // PIDs unreadable at either end: not counted
  double total_s() const { return client_s + servers_s; }
  // Microseconds of CPU per operation, or nullopt without operations.
  std::optional<double> us_per_op(uint64_t ops) const;
};

cpu_usage usage_between(const cpu_sample& start, const cpu_sample& end);

}  // namespace kv::bench
