// client/bench/stats.hpp
// The accounting every driver shares. A driver reports each completed operation (its latency,
// or its error code) with its completion time; the recorder files it under the phase that time
// falls in: load, warm-up (not measured), run, or after the run (dropped). The progress thread
// reads snapshots meanwhile, so every call takes a mutex (uncontended: one writer).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/bench/histogram.hpp"
#include "client/bench/workload.hpp"

namespace kv::bench {

using steady = std::chrono::steady_clock;

enum class phase { idle, load, warmup, run, done };

std::string_view to_string(phase p);

struct op_stats {
  histogram latency_ns;                    // successful operations only
  std::map<std::string, uint64_t> errors;  // error code -> count
  uint64_t error_count() const;
};

// What one phase measured.
struct phase_stats {
  std::array<op_stats, 2> by_op;  // indexed by op_kind
  histogram total_ns;
  std::chrono::nanoseconds elapsed{0};
  uint64_t ops() const { return total_ns.count(); }
  uint64_t errors() const { return by_op[0].error_count() + by_op[1].error_count(); }
  std::map<std::string, uint64_t> errors_by_code() const;
  double throughput() const;  // successful ops per second
};

// The progress line's view of the phase under way.
struct progress {
  phase current = phase::idle;
  std::chrono::nanoseconds elapsed{0};  // since the phase started
  uint64_t ops = 0;
  uint64_t errors = 0;
  uint64_t p50_ns = 0, p99_ns = 0;
};

// The measured part of the run: from the end of the warm-up to the end of the run.
struct run_window {
  steady::time_point begin, end;
};

// How a driver's run ended.
struct run_outcome {
  bool reached = true;             // false: no node could be reached, so nothing was done
  std::string failure;             // why, when not reached
  std::vector<std::string> notes;  // facts for the report ("3 masters", ...)
};

class recorder {
 public:
  // The load phase runs from begin_load to end_load; everything recorded meanwhile is load.
  void begin_load(steady::time_point now);
  void end_load(steady::time_point now);

  // The run: warm-up from `start`, measured from start + warmup for `duration`.
  void begin_run(steady::time_point start, std::chrono::nanoseconds warmup,
                 std::chrono::nanoseconds duration);

  // Whether a driver should issue another operation of the run at `now`.
  bool running(steady::time_point now) const { return now < run_end_; }
  steady::time_point run_end() const { return run_end_; }

  // The measured window once begin_run was called, nullopt before. Any thread may ask.
  std::optional<run_window> measured_window() const;

  void record(op_kind kind, steady::time_point issued, steady::time_point completed);
  void record_error(op_kind kind, std::string_view code, steady::time_point completed);

  // Named counters outside the latency accounting ("redis_moved_redirects", ...): count adds,
  // observe_max keeps the largest value seen.
  void count(std::string_view counter, uint64_t n = 1);
  void observe_max(std::string_view counter, uint64_t value);

  progress snapshot(steady::time_point now) const;
  phase_stats result(phase p) const;  // load or run
  std::map<std::string, uint64_t> counters() const;

 private:
  phase phase_at(steady::time_point t) const;
  phase_stats* stats_of(phase p);

  mutable std::mutex mutex_;
  bool loading_ = false;
  steady::time_point load_start_, run_start_, warmup_end_, run_end_;
  phase_stats load_, warmup_, run_;
  std::map<std::string, uint64_t> counters_;
};

}  // namespace kv::bench
