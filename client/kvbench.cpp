// kvbench: YCSB-style load for ringkv, and with the same accounting for Redis, Redis Cluster,
// etcd (through its JSON gateway) and a loopback echo floor. Load phase, then warm-up and a
// measured closed-loop run; a live progress line on stderr, the final table on stdout, JSON with
// --json; with the CPU time per operation of kvbench and of the processes --cpu-pids names.
// Exit codes: 0 the run completed (errors, if any, are in the table); 2 bad flags; 3
// nothing could be done (the target is unreachable).
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "client/bench/config.hpp"
#include "client/bench/cpu.hpp"
#include "client/bench/echo.hpp"
#include "client/bench/etcd_driver.hpp"
#include "client/bench/redis_driver.hpp"
#include "client/bench/report.hpp"
#include "client/bench/ringkv_driver.hpp"
#include "client/bench/stats.hpp"

namespace {

using namespace kv::bench;
using namespace std::chrono_literals;

enum exit_code : int { ok = 0, usage = 2, unreachable = 3 };

struct flags {
  std::string nodes = "127.0.0.1:7101";
  uint64_t records = 100000;
  size_t key_size = 16;
  std::string key_prefix = "k";
  size_t value_size = 1024;
  bool load = false, no_load = false, smoke = false;
  std::string workload = "A", distribution = "uniform", target = "ringkv";
  uint32_t concurrency = 32;
  uint32_t load_concurrency = 0;
  double warmup_s = 2, duration_s = 10;
  uint32_t n = 0, r = 0, w = 0;
  std::string ns;
  uint32_t timeout_ms = 5000;
  std::string json;
  uint32_t redis_wait = 0;
  std::string serve_echo;
  uint64_t seed = 1;
  uint32_t threads = 1;
  std::string cert, key, ca, token;
  std::vector<int> cpu_pids;
};

void add_options(CLI::App& app, flags& f) {
  app.add_option("--nodes", f.nodes,
                 "HOST:PORT,... of the target; ringkv: one client actor per node, requests\n"
                 "round-robin; redis: the server; redis-cluster: seeds for CLUSTER SLOTS;\n"
                 "etcd: the members' client URLs, virtual client i on member i mod count\n"
                 "(default 127.0.0.1:7101)");
  app.add_option("--target", f.target,
                 "ringkv (default), redis, redis-cluster, etcd (v3, through its HTTP/JSON\n"
                 "gateway: POST /v3/kv/put and linearizable /v3/kv/range over keep-alive\n"
                 "HTTP/1.1), or echo (a kvbench --serve-echo process: the loopback\n"
                 "round-trip floor of the same client path)")
      ->check(CLI::IsMember({"ringkv", "redis", "redis-cluster", "etcd", "echo"}));
  app.add_option("--cert", f.cert,
                 "ringkv: client certificate (PEM) for nodes with TLS; default $RINGKV_CERT,\n"
                 "else ~/.ringkv/client.pem")
      ->type_name("FILE");
  app.add_option("--key", f.key, "ringkv: key of --cert")->type_name("FILE");
  app.add_option("--ca", f.ca, "ringkv: the cluster CA (PEM): connect with TLS")->type_name("FILE");
  app.add_option("--token", f.token, "ringkv: bearer token instead of a certificate");
  app.add_option("--records", f.records, "records loaded and then read/updated (default 100000)");
  app.add_option("--key-size", f.key_size,
                 "key bytes: --key-prefix + the zero-padded record index (default 16)");
  app.add_option("--key-prefix", f.key_prefix,
                 "what every key starts with (default k): runs with different prefixes use\n"
                 "different records, so that one run's load does not write over another's\n"
                 "(on ringkv, a blind write over a key another process wrote adds a sibling)");
  app.add_option("--value-size", f.value_size,
                 "value bytes, pseudo-random and fresh for every write (default 1024)");
  app.add_flag("--load", f.load, "run the load phase only (insert every record once)");
  app.add_flag("--no-load", f.no_load,
               "skip the load phase: the records are already there (ringkv: updates then\n"
               "carry no context until a read or write of the key returned one)");
  app.add_option("--workload", f.workload,
                 "A: 50% reads / 50% updates (default), B: 95/5, C: reads only; W: updates\n"
                 "only (not YCSB's; compares with db_bench fillrandom; ringkv updates carry\n"
                 "contexts as in A)")
      ->check(CLI::IsMember({"A", "B", "C", "W", "a", "b", "c", "w"}));
  app.add_option("--distribution", f.distribution,
                 "uniform (default) or zipfian (theta 0.99, scrambled as YCSB does)")
      ->check(CLI::IsMember({"uniform", "zipfian"}));
  app.add_option("--concurrency", f.concurrency,
                 "requests in flight, each slot issuing its next one as soon as the previous\n"
                 "completed (closed loop; default 32)");
  app.add_option("--load-concurrency", f.load_concurrency,
                 "requests in flight during the load phase (default: --concurrency), e.g.\n"
                 "load at 32 and measure at 1")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", f.warmup_s, "seconds run before measuring (default 2)");
  app.add_option("--duration", f.duration_s, "seconds measured (default 10)");
  app.add_option("--n", f.n, "ringkv: replicas per request (default: the namespace's n)");
  app.add_option("--r", f.r, "ringkv: replies a read waits for (default: the namespace's r)");
  app.add_option("--w", f.w, "ringkv: acks a write waits for (default: the namespace's w)");
  app.add_option("--ns", f.ns, "ringkv: namespace (default: default)");
  app.add_option("--timeout-ms", f.timeout_ms,
                 "request deadline; redis, etcd: an operation without a reply by then fails\n"
                 "TIMEOUT and its connection is reopened (default 5000)");
  app.add_option("--json", f.json, "also write the results as JSON to this file");
  app.add_option("--redis-wait", f.redis_wait,
                 "redis targets: send WAIT N 0 after each write, in the same write; the write\n"
                 "completes when both replies are in; fewer than N replicas is an error");
  app.add_option("--serve-echo", f.serve_echo,
                 "HOST:PORT: run the echo server for --target echo until SIGTERM (prints\n"
                 "'ready echo HOST:PORT'; port 0 picks a free one)");
  app.add_flag("--smoke", f.smoke,
               "a few seconds' check: --records 1000 --warmup 0.5 --duration 2 unless given");
  app.add_option("--seed", f.seed, "seed of the key, operation and value streams (default 1)");
  app.add_option("--threads", f.threads,
                 "CAF scheduler threads of the ringkv driver and the echo server (default 1)");
  app.add_option("--cpu-pids", f.cpu_pids,
                 "PID,...: processes on this machine whose CPU time to count over the\n"
                 "measured window, e.g. the servers under test (user + system time from\n"
                 "/proc/PID/stat, with the children they waited for). kvbench adds its own\n"
                 "and divides by the run's successful operations: CPU us per operation.\n"
                 "kvbench's own is reported without this flag too. A PID that is gone or\n"
                 "unreadable is reported, not counted")
      ->delimiter(',')
      ->type_name("PID");
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> items;
  std::stringstream in{list};
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds{static_cast<int64_t>(seconds * 1000.0 + 0.5)};
}

bench_config config_of(const CLI::App& app, const flags& f) {
  bench_config c;
  c.tgt = *parse_target(f.target);
  c.nodes = split(f.nodes);
  c.records = f.records;
  c.key_size = f.key_size;
  c.key_prefix = f.key_prefix;
  c.value_size = f.value_size;
  c.load_only = f.load;
  c.no_load = f.no_load;
  c.wl = *parse_workload(f.workload);
  c.dist = *parse_distribution(f.distribution);
  c.concurrency = f.concurrency;
  c.load_concurrency = f.load_concurrency;
  c.warmup = millis(f.warmup_s);
  c.duration = millis(f.duration_s);
  c.n = f.n;
  c.r = f.r;
  c.w = f.w;
  c.ns = f.ns;
  c.timeout_ms = f.timeout_ms;
  c.redis_wait = f.redis_wait;
  c.seed = f.seed;
  c.threads = f.threads;
  c.cert = f.cert;
  c.key = f.key;
  c.ca = f.ca;
  c.token = f.token;
  c.json_path = f.json;
  // A PID named twice would be counted twice.
  for (int pid : f.cpu_pids)
    if (std::find(c.cpu_pids.begin(), c.cpu_pids.end(), pid) == c.cpu_pids.end())
      c.cpu_pids.push_back(pid);
  if (f.smoke) {
    if (app.count("--records") == 0) c.records = 1000;
    if (app.count("--warmup") == 0) c.warmup = 500ms;
    if (app.count("--duration") == 0) c.duration = 2000ms;
  }
  return c;
}

// Prints the progress line once a second: rewritten in place on a terminal, one line every
// 5 s otherwise (a log file stays readable).
class progress_printer {
 public:
  explicit progress_printer(const recorder& rec)
      : rec_(rec), tty_(::isatty(STDERR_FILENO) == 1), thread_([this] { loop(); }) {}

  ~progress_printer() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (tty_ && printed_) std::cerr << "\n";
  }

 private:
  void loop() {
    phase shown = phase::idle;
    uint64_t base_ops = 0;
    steady::time_point base_time;
    unsigned ticks = 0;
    std::unique_lock<std::mutex> lock{mutex_};
    while (!wake_.wait_for(lock, 1s, [this] { return stopping_; })) {
      auto now = steady::now();
      auto p = rec_.snapshot(now);
      if (p.current == phase::idle) continue;
      auto group = p.current == phase::done ? phase::run : p.current;
      if (group != shown) {
        shown = group;
        base_ops = 0;
        base_time = now - p.elapsed;
      }
      auto seconds = std::chrono::duration<double>(now - base_time).count();
      auto rate = seconds > 0 ? static_cast<double>(p.ops - base_ops) / seconds : 0.0;
      base_ops = p.ops;
      base_time = now;
      ++ticks;
      if (tty_)
        std::cerr << "\r" << progress_line(p, rate) << "\033[K" << std::flush;
      else if (ticks % 5 == 0)
        std::cerr << progress_line(p, rate) << std::endl;
      printed_ = true;
    }
  }

  const recorder& rec_;
  bool tty_;
  bool printed_ = false;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

// Samples CPU time (client/bench/cpu.hpp) at both ends of the measured window: it polls the
// recorder until the driver has set the window, then sleeps until the window's start and its
// end. finish() stops it early for a run that never reaches the window (--load, a target
// that cannot be reached), or covers only the part that passed when the run stops inside it.
class cpu_meter {
 public:
  cpu_meter(const recorder& rec, std::vector<int> pids)
      : rec_(rec), pids_(std::move(pids)), thread_([this] { loop(); }) {}

  ~cpu_meter() { stop(); }

  // The CPU time spent over the measured window, or nullopt when it never began.
  std::optional<cpu_usage> finish() {
    stop();
    return result_;  // written by the thread, which has ended
  }

 private:
  void stop() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Sleeps until `t`; false when stopped first.
  bool sleep_until(std::unique_lock<std::mutex>& lock, steady::time_point t) {
    return !wake_.wait_until(lock, t, [this] { return stopping_; });
  }

  void loop() {
    std::unique_lock<std::mutex> lock{mutex_};
    std::optional<run_window> window;
    while (!(window = rec_.measured_window()))
      if (!sleep_until(lock, steady::now() + 5ms)) return;
    if (!sleep_until(lock, window->begin)) return;
    lock.unlock();
    auto start = take_sample(pids_);
    lock.lock();
    sleep_until(lock, window->end);
    lock.unlock();
    result_ = usage_between(start, take_sample(pids_));
  }

  const recorder& rec_;
  std::vector<int> pids_;
  std::optional<cpu_usage> result_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

// Names the --cpu-pids that cannot be read now: the run goes on and reports them.
void warn_unreadable(const std::vector<int>& pids) {
  for (int pid : pids)
    if (!process_cpu(pid))
      std::cerr << "kvbench: --cpu-pids " << pid << ": no readable /proc/" << pid
                << "/stat; reported, not counted\n";
}

int bad_usage(const std::string& why) {
  std::cerr << "kvbench: INVALID_ARGUMENT " << why << "\n";
  return usage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "kvbench: YCSB-style benchmark of ringkv, and with the same accounting of Redis,\n"
      "Redis Cluster, etcd and a loopback echo floor. Loads --records records, then runs the\n"
      "workload closed-loop for --warmup + --duration seconds and prints throughput and\n"
      "latency percentiles (per read, update and total), and the CPU time per operation of\n"
      "kvbench and of the processes --cpu-pids names.\n"
      "Exit codes: 0 the run completed (errors, if any, are reported); 2 bad flags;\n"
      "3 nothing could be done (target unreachable)."};
  flags f;
  add_options(app, f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? ok : usage;
  }
  if (!f.serve_echo.empty()) {
    auto at = parse_endpoint(f.serve_echo);
    if (!at) return bad_usage("--serve-echo needs HOST:PORT, got '" + f.serve_echo + "'");
    return serve_echo(*at, f.threads);
  }
  auto cfg = config_of(app, f);
  if (auto why = validate(cfg); !why.empty()) return bad_usage(why);
  std::ofstream json;
  if (!cfg.json_path.empty()) {
    json.open(cfg.json_path, std::ios::trunc);
    if (!json) return bad_usage("cannot write --json " + cfg.json_path);
  }
  warn_unreadable(cfg.cpu_pids);
  recorder rec;
  cpu_meter meter{rec, cfg.cpu_pids};
  run_outcome outcome;
  {
    progress_printer progress{rec};
    switch (cfg.tgt) {
      case target::redis:
      case target::redis_cluster:
        outcome = run_redis(cfg, rec);
        break;
      case target::etcd:
        outcome = run_etcd(cfg, rec);
        break;
      case target::ringkv:
      case target::echo:
        outcome = run_ringkv(cfg, rec);
        break;
    }
  }
  if (!outcome.reached) {
    std::cerr << "kvbench: UNAVAILABLE nothing could be done: " << outcome.failure << "\n";
    return unreachable;
  }
  report r;
  r.cfg = cfg;
  if (cfg.loads()) r.load = rec.result(phase::load);
  if (!cfg.load_only) r.run = rec.result(phase::run);
  r.counters = rec.counters();
  r.notes = outcome.notes;
  r.cpu = meter.finish();
  print_table(std::cout, r);
  if (json.is_open()) {
    json << to_json(r);
    json.close();
    if (!json) std::cerr << "kvbench: INTERNAL could not finish writing " << cfg.json_path << "\n";
  }
  return ok;
}
