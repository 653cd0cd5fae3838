// actors/node/log.hpp
// One named logger per role ("node", "replica", "coordinator", "supervisor", "port", ...),
// writing to stderr; stdout is reserved for kvnode's `ready` line. Each line is an event name
// and key=value pairs: `ActorRestarted role=replica.3 restarts=2 reason="..."`.
// error = a human must act; warn = degraded but healing; info = lifecycle; debug = per request.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace kv::log {

// Sets the level ("trace".."off") of every logger, existing and future, and sends protobuf's
// own log lines to the "protobuf" logger at debug level (fatal ones at error).
void init(const std::string& level);

// The logger of `role`, created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& role);

// Warnings about connections, at most 10 lines a second: a flood of bad connections must not
// become a log flood. The lines held back are counted in a ConnectionLogsSuppressed line once
// the next second starts. Not thread-safe: one per listener, used from its thread.
class connection_log {
 public:
  connection_log() = default;
  explicit connection_log(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}

  template <class... Ts>
  void warn(const char* fmt, const Ts&... xs) {
    constexpr uint32_t max_lines_per_second = 10;
    auto now = std::chrono::steady_clock::now();
    if (now - second_ >= std::chrono::seconds{1}) {
      if (suppressed_ > 0) log_->warn("ConnectionLogsSuppressed count={}", suppressed_);
      second_ = now;
      logged_ = 0;
      suppressed_ = 0;
    }
    if (logged_++ < max_lines_per_second)
      log_->warn(fmt, xs...);
    else
      ++suppressed_;
  }

 private:
  std::shared_ptr<spdlog::logger> log_;
  std::chrono::steady_clock::time_point second_;
  uint32_t logged_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace kv::log
