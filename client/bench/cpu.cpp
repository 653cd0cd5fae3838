#include "client/bench/cpu.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <string>

namespace kv::bench {

namespace {

// proc(5) numbers the fields from 1: pid, comm, state, ... utime is 14. Counted here from the
// state, the first field after the ')' that closes comm, as 0.
constexpr size_t utime_field = 11;
constexpr size_t cstime_field = 14;

std::optional<uint64_t> decimal(std::string_view text) {
  uint64_t value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Clock ticks to nanoseconds without overflowing for any count a real process reaches.
std::chrono::nanoseconds from_ticks(uint64_t ticks) {
  static const auto hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  constexpr uint64_t ns_per_s = 1'000'000'000;
  return std::chrono::nanoseconds{
      static_cast<int64_t>(ticks / hz * ns_per_s + ticks % hz * ns_per_s / hz)};
}

std::chrono::nanoseconds from_timeval(const timeval& tv) {
  return std::chrono::seconds{tv.tv_sec} + std::chrono::microseconds{tv.tv_usec};
}

// The file's bytes, at most max_stat_line + 1 of them (so an overlong line shows as one), or
// nullopt when it cannot be opened or read.
std::optional<std::string> read_bounded(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text(max_stat_line + 1, '\0');
  size_t got = 0;
  while (got < text.size()) {
    auto n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  bool failed = got == 0;
  ::close(fd);
  if (failed) return std::nullopt;
  text.resize(got);
  return text;
}

}  // namespace

bool proc_times::operator==(const proc_times& other) const {
  return pid == other.pid && utime == other.utime && stime == other.stime &&
         cutime == other.cutime && cstime == other.cstime;
}

std::optional<proc_times> parse_proc_stat(std::string_view line) {
  if (line.size() > max_stat_line) return std::nullopt;
  auto open = line.find(" (");
  auto close = line.rfind(')');
  if (open == line.npos || close == line.npos || close < open + 2) return std::nullopt;
  if (close - open - 2 > max_comm) return std::nullopt;
  auto pid = decimal(line.substr(0, open));
  if (!pid || *pid == 0 || *pid > INT_MAX) return std::nullopt;
  std::array<uint64_t, cstime_field - utime_field + 1> ticks{};
  auto rest = line.substr(close + 1);
  for (size_t field = 0; field <= cstime_field; ++field) {
    if (rest.empty() || rest[0] != ' ') return std::nullopt;
    rest.remove_prefix(1);
    // Every field up to cstime must be followed by a separator: a line cut inside cstime
    // would otherwise read as a smaller figure.
    auto end = rest.find_first_of(" \n");
    if (end == 0 || end == rest.npos) return std::nullopt;
    if (field >= utime_field) {
      auto value = decimal(rest.substr(0, end));
      if (!value) return std::nullopt;
      ticks[field - utime_field] = *value;
    }
    rest.remove_prefix(end);
  }
  return proc_times{static_cast<int64_t>(*pid), ticks[0], ticks[1], ticks[2], ticks[3]};
}

std::optional<std::chrono::nanoseconds> process_cpu(int pid) {
  auto text = read_bounded("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  auto times = parse_proc_stat(*text);
  if (!times || times->pid != pid) return std::nullopt;
  return from_ticks(times->total());
}

std::chrono::nanoseconds self_cpu() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return std::chrono::nanoseconds{0};
  return from_timeval(usage.ru_utime) + from_timeval(usage.ru_stime);
}

cpu_sample take_sample(const std::vector<int>& pids) {
  cpu_sample s;
  s.at = std::chrono::steady_clock::now();
  s.self = self_cpu();
  for (int pid : pids) s.pids.emplace_back(pid, process_cpu(pid));
  return s;
}

cpu_usage usage_between(const cpu_sample& start, const cpu_sample& end) {
  using seconds = std::chrono::duration<double>;
  cpu_usage u;
  u.window = end.at - start.at;
  u.client_s = seconds(end.self - start.self).count();
  for (size_t i = 0; i < start.pids.size(); ++i) {
    auto& [pid, before] = start.pids[i];
    auto after =
        i < end.pids.size() && end.pids[i].first == pid ? end.pids[i].second : std::nullopt;
    // A PID reused by a new process between the samples shows as time going backwards.
    if (!before || !after || *after < *before) {
      u.unreadable.push_back(pid);
      continue;
    }
    u.servers_s += seconds(*after - *before).count();
    ++u.processes;
  }
  return u;
}

std::optional<double> cpu_usage::us_per_op(uint64_t ops) const {
  if (ops == 0) return std::nullopt;
  return total_s() / static_cast<double>(ops) * 1e6;
}

}  // namespace kv::bench
