// actors/node/log.hpp
// One named logger per role ("node", "replica", "coordinator", "supervisor", "port", ...),
// writing to stderr; stdout is reserved for kvnode's `ready` line. Each line is an event name
// and key=value pairs: `ActorRestarted role=replica.3 restarts=2 reason="..."`.
// error = a human must act; warn = degraded but healing; info = lifecycle; debug = per request.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace kv::log {

// Sets the level ("trace".."off") of every logger, existing and future, and sends protobuf's
// own log lines to the "protobuf" logger at debug level (fatal ones at error).
void init(const std::string& level);

// The logger of `role`, created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& role);

}  // namespace kv::log
