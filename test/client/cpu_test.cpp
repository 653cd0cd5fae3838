#include <catch2/catch.hpp>

#include <unistd.h>

#include <climits>
#include <string>

#include "client/bench/cpu.hpp"
#include "client/bench/report.hpp"

using namespace kv::bench;
using namespace std::chrono_literals;

namespace {

// /proc/PID/stat of a real process (Linux 6.x), its figures changed so that each differs:
// utime 1113, stime 1114, cutime 1115, cstime 1116.
const std::string real_line =
    "17835 (cat) R 17833 17833 3957 0 -1 4194304 100 0 0 0 1113 1114 1115 1116 20 0 1 0 "
    "185160 3133440 392 18446744073709551615 94555567456256 94555567476137 140737375914736 0 "
    "0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 94555567492144 94555567493760 94556334784512 "
    "140737375922914 140737375922934 140737375922934 140737375924203 0\n";

const std::string after_comm = " S 1 1 0 0 -1 4194560 10 0 0 0 7 8 9 10 20 0 1 0 26";

cpu_sample sample_of(std::chrono::nanoseconds self,
                     std::vector<std::pair<int, std::optional<std::chrono::nanoseconds>>> pids,
                     std::chrono::steady_clock::time_point at = {}) {
  cpu_sample s;
  s.at = at;
  s.self = self;
  s.pids = std::move(pids);
  return s;
}

}  // namespace

TEST_CASE("a /proc/PID/stat line gives the process's user, system and children's ticks", "[cpu]") {
  auto t = parse_proc_stat(real_line);
  REQUIRE(t);
  CHECK(t->pid == 17835);
  CHECK(t->utime == 1113);
  CHECK(t->stime == 1114);
  CHECK(t->cutime == 1115);
  CHECK(t->cstime == 1116);
  CHECK(t->total() == 1113 + 1114 + 1115 + 1116);
}

TEST_CASE("the fields are counted from the last parenthesis, whatever the name holds", "[cpu]") {
  for (std::string comm : {"a b", "x) R 1 2 3 (y", "((", ")", "", "kworker/u8:2-events_unbound"}) {
    INFO("comm: " << comm);
    auto t = parse_proc_stat("42 (" + comm + ")" + after_comm + "\n");
    REQUIRE(t);
    CHECK(t->pid == 42);
    CHECK((t->utime == 7 && t->stime == 8 && t->cutime == 9 && t->cstime == 10));
  }
}

TEST_CASE("a line cut before the field after cstime is refused, not read as smaller figures",
          "[cpu]") {
  // Up to and including cstime's last digit, every prefix is refused.
  auto cstime_end = real_line.find(" 1116 ") + 5;
  for (size_t cut = 0; cut <= cstime_end; ++cut) {
    INFO("cut at " << cut);
    CHECK_FALSE(parse_proc_stat(std::string_view{real_line}.substr(0, cut)));
  }
  CHECK(parse_proc_stat(std::string_view{real_line}.substr(0, cstime_end + 1)));
  SECTION("a line that ends with cstime and a newline is whole") {
    auto t = parse_proc_stat("7 (sh) S 1 1 0 0 -1 0 0 0 0 0 3 4 5 6\n");
    REQUIRE(t);
    CHECK(t->cstime == 6);
  }
}

TEST_CASE("malformed stat lines are refused", "[cpu]") {
  auto line = [](const std::string& head, const std::string& tail) { return head + tail; };
  CHECK_FALSE(parse_proc_stat(line("(cat)", after_comm)));              // no pid
  CHECK_FALSE(parse_proc_stat(line("0 (cat)", after_comm)));            // pid 0
  CHECK_FALSE(parse_proc_stat(line("-3 (cat)", after_comm)));           // negative pid
  CHECK_FALSE(parse_proc_stat(line("x1 (cat)", after_comm)));           // not a number
  CHECK_FALSE(parse_proc_stat(line("1 cat)", after_comm)));             // no opening parenthesis
  CHECK_FALSE(parse_proc_stat("1 (cat" + after_comm));                  // no closing one
  CHECK_FALSE(parse_proc_stat(line("99999999999 (cat)", after_comm)));  // past INT_MAX
  CHECK_FALSE(parse_proc_stat(line("1 (cat)", " S 1 1 0 0 -1 0 0 0 0 0 -7 8 9 10 2")));
  CHECK_FALSE(parse_proc_stat(line("1 (cat)", " S 1 1 0 0 -1 0 0 0 0 0 7x 8 9 10 2")));
  CHECK_FALSE(parse_proc_stat(line("1 (cat)", " S 1 1 0 0 -1 0 0 0 0 0 7  8 9 10 2")));
  CHECK_FALSE(parse_proc_stat(line("1 (cat)",
                                   " S 1 1 0 0 -1 0 0 0 0 0 99999999999999999999 8 9 "
                                   "10 2")));  // past 2^64
  CHECK_FALSE(parse_proc_stat("1 (" + std::string(max_comm + 1, 'c') + ")" + after_comm));
  CHECK(parse_proc_stat("1 (" + std::string(max_comm, 'c') + ")" + after_comm));
  CHECK_FALSE(parse_proc_stat(real_line + std::string(max_stat_line, ' ')));
}

TEST_CASE("this process's CPU time reads from /proc and grows as it works", "[cpu]") {
  auto before = process_cpu(static_cast<int>(::getpid()));
  REQUIRE(before);
  auto self_before = self_cpu();
  volatile uint64_t sink = 0;
  while (self_cpu() - self_before < 100ms)
    for (int i = 0; i < 100000; ++i) sink = sink + static_cast<uint64_t>(i);
  auto after = process_cpu(static_cast<int>(::getpid()));
  REQUIRE(after);
  // /proc counts in clock ticks (10 ms at 100 Hz), so allow for the rounding.
  CHECK(*after - *before >= 50ms);
  CHECK_FALSE(process_cpu(INT_MAX));  // above any pid_max: no such process
}

TEST_CASE("usage between two samples counts only the PIDs readable at both ends", "[cpu]") {
  auto t0 = std::chrono::steady_clock::time_point{} + 5s;
  auto start = sample_of(1s, {{10, 2s}, {11, std::nullopt}, {12, 5s}, {13, 9s}}, t0);
  auto end = sample_of(1500ms, {{10, 3s}, {11, 4s}, {12, std::nullopt}, {13, 1s}}, t0 + 10s);
  auto u = usage_between(start, end);
  CHECK(u.window == 10s);
  CHECK(u.client_s == Approx(0.5));
  CHECK(u.servers_s == Approx(1.0));
  CHECK(u.processes == 1);
  // 11 appeared, 12 vanished, 13 went backwards (its PID reused by a new process).
  CHECK(u.unreadable == std::vector<int>{11, 12, 13});
  CHECK(*u.us_per_op(1000) == Approx(1500.0));
  CHECK_FALSE(u.us_per_op(0));
}

TEST_CASE("the report shows the CPU per operation, split between servers and kvbench",
          "[cpu][report]") {
  report r;
  r.cfg.cpu_pids = {10, 11, 12, 13};
  r.run = phase_stats{};
  for (int i = 0; i < 1000; ++i) r.run->total_ns.record(1000);
  cpu_usage u;
  u.window = 10s;
  u.client_s = 0.037;
  u.servers_s = 0.175;
  u.processes = 3;
  u.unreadable = {13};
  r.cpu = u;
  CHECK(cpu_line(r) ==
        "cpu: 212 us per operation (servers 175 us in 3 processes, kvbench 37.0 us) over the "
        "measured 10.0 s; not counted, unreadable (gone or not ours): 13");
  auto json = to_json(r);
  CHECK(json.find("\"cpu\":{\"client_s\":0.037000,\"servers_s\":0.175000,\"processes\":3,"
                  "\"unreadable\":[13],\"us_per_op\":212.000,\"window_s\":10.000000}") !=
        json.npos);
  SECTION("without --cpu-pids only kvbench is counted, and the line says so") {
    r.cfg.cpu_pids.clear();
    r.cpu->servers_s = 0;
    r.cpu->processes = 0;
    r.cpu->unreadable.clear();
    CHECK(cpu_line(r) ==
          "cpu: 37.0 us per operation (kvbench 37.0 us; servers not counted without "
          "--cpu-pids) over the measured 10.0 s");
  }
  SECTION("without operations there is no figure per operation") {
    r.run = phase_stats{};
    CHECK(cpu_line(r).rfind("cpu: n/a (no operation succeeded) per operation", 0) == 0);
    CHECK(to_json(r).find("\"us_per_op\":null") != std::string::npos);
  }
  SECTION("a run that never reached its window has no CPU line") {
    r.cpu.reset();
    CHECK(cpu_line(r).empty());
    CHECK(to_json(r).find("\"cpu\":{") == std::string::npos);
  }
}
