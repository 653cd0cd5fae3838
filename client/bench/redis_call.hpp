// client/bench/redis_call.hpp
// Blocking socket helpers of the Redis driver: opening a TCP connection, and one command on a
// connection of its own with a bounded wait for its reply (PING and CLUSTER SLOTS at start and
// on MOVED). The measured operations never go through here: redis_driver.cpp multiplexes them.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "client/bench/config.hpp"
#include "client/bench/resp.hpp"

namespace kv::bench {

// A blocking TCP connection to `ep` with TCP_NODELAY, or -1 and `err`. Connecting gives up
// after 3 s.
int dial(const endpoint& ep, std::string& err);

// Sends `cmd` on a new connection and returns the reply, waiting up to 3 s; nullopt and `err`
// when there is none.
std::optional<resp::value> call(const endpoint& ep, std::initializer_list<std::string_view> cmd,
                                std::string& err);

}  // namespace kv::bench
