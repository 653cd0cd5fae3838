// client/bench/echo.hpp
// The loopback round-trip floor: a server of the client protocol (docs/protocol.md) that answers
// every request at once with an empty reply, from a broker in the middleman like a kvnode's
// client listener.
// `kvbench --target echo` drives it with the ringkv driver, so the difference to a real node
// is what the node itself costs.
#pragma once

#include <cstdint>

#include "client/bench/config.hpp"

namespace kv::bench {

// Serves at `at` (port 0: any free port) until SIGTERM or SIGINT. Prints "ready echo HOST:PORT"
// on stdout once it listens. Returns the exit code: 0 after a signal, 3 if it cannot listen.
// Call it before starting any other thread: it blocks both signals in the calling thread, and
// the threads it starts inherit that.
int serve_echo(const endpoint& at, uint32_t threads);

}  // namespace kv::bench
