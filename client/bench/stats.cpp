#include "client/bench/stats.hpp"

#include <algorithm>

namespace kv::bench {

std::string_view to_string(phase p) {
  switch (p) {
    case phase::idle:
      return "idle";
    case phase::load:
      return "load";
    case phase::warmup:
      return "warm-up";
    case phase::run:
      return "run";
    case phase::done:
      return "done";
  }
  return "?";
}

uint64_t op_stats::error_count() const {
  uint64_t n = 0;
  for (auto& [code, count] : errors) n += count;
  return n;
}

std::map<std::string, uint64_t> phase_stats::errors_by_code() const {
  auto all = by_op[0].errors;
  for (auto& [code, count] : by_op[1].errors) all[code] += count;
  return all;
}

double phase_stats::throughput() const {
  auto seconds = std::chrono::duration<double>(elapsed).count();
  return seconds > 0 ? static_cast<double>(ops()) / seconds : 0.0;
}

void recorder::begin_load(steady::time_point now) {
  std::lock_guard<std::mutex> guard{mutex_};
  loading_ = true;
  load_start_ = now;
}

void recorder::end_load(steady::time_point now) {
  std::lock_guard<std::mutex> guard{mutex_};
  loading_ = false;
  load_.elapsed = now - load_start_;
}

void recorder::begin_run(steady::time_point start, std::chrono::nanoseconds warmup,
                         std::chrono::nanoseconds duration) {
  std::lock_guard<std::mutex> guard{mutex_};
  run_start_ = start;
  warmup_end_ = start + warmup;
  run_end_ = warmup_end_ + duration;
  warmup_.elapsed = warmup;
  run_.elapsed = duration;
}

std::optional<run_window> recorder::measured_window() const {
  std::lock_guard<std::mutex> guard{mutex_};
  if (run_end_ == steady::time_point{}) return std::nullopt;
  return run_window{warmup_end_, run_end_};
}

phase recorder::phase_at(steady::time_point t) const {
  if (loading_) return phase::load;
  if (run_end_ == steady::time_point{} || t < run_start_) return phase::idle;
  if (t < warmup_end_) return phase::warmup;
  if (t < run_end_) return phase::run;
  return phase::done;
}

phase_stats* recorder::stats_of(phase p) {
  switch (p) {
    case phase::load:
      return &load_;
    case phase::warmup:
      return &warmup_;
    case phase::run:
      return &run_;
    default:
      return nullptr;
  }
}

void recorder::record(op_kind kind, steady::time_point issued, steady::time_point completed) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(completed - issued).count();
  auto value = static_cast<uint64_t>(ns > 0 ? ns : 0);
  std::lock_guard<std::mutex> guard{mutex_};
  auto* stats = stats_of(phase_at(completed));
  if (!stats) return;
  stats->by_op[static_cast<size_t>(kind)].latency_ns.record(value);
  stats->total_ns.record(value);
}

void recorder::record_error(op_kind kind, std::string_view code, steady::time_point completed) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto* stats = stats_of(phase_at(completed));
  if (!stats) return;
  ++stats->by_op[static_cast<size_t>(kind)].errors[std::string{code}];
}

void recorder::count(std::string_view counter, uint64_t n) {
  std::lock_guard<std::mutex> guard{mutex_};
  counters_[std::string{counter}] += n;
}

void recorder::observe_max(std::string_view counter, uint64_t value) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& current = counters_[std::string{counter}];
  current = std::max(current, value);
}

progress recorder::snapshot(steady::time_point now) const {
  std::lock_guard<std::mutex> guard{mutex_};
  progress p;
  p.current = phase_at(now);
  const phase_stats* stats = nullptr;
  switch (p.current) {
    case phase::load:
      stats = &load_;
      p.elapsed = now - load_start_;
      break;
    case phase::warmup:
      stats = &warmup_;
      p.elapsed = now - run_start_;
      break;
    case phase::run:
    case phase::done:
      stats = &run_;
      p.elapsed = now - warmup_end_;
      break;
    case phase::idle:
      return p;
  }
  p.ops = stats->ops();
  p.errors = stats->errors();
  p.p50_ns = stats->total_ns.percentile(0.50);
  p.p99_ns = stats->total_ns.percentile(0.99);
  return p;
}

phase_stats recorder::result(phase p) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return p == phase::load ? load_ : run_;
}

std::map<std::string, uint64_t> recorder::counters() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return counters_;
}

}  // namespace kv::bench
