// client/bench/redis_driver.hpp
// Drives Redis or Redis Cluster over RESP with the same accounting as the ringkv driver: one
// thread, epoll, `concurrency` virtual clients in a closed loop. A single node gives each
// virtual client one connection; a cluster gives each one a connection per master, routes each
// key by its slot (CLUSTER SLOTS at start) and follows MOVED (refreshing the slot map) and ASK
// redirects, counting them. With --redis-wait n, every write is followed by `WAIT n 0` in the
// same write; the operation completes once both replies arrived, and a WAIT that reports fewer
// than n replicas counts as an error (WAIT_SHORT).
#pragma once

#include "client/bench/config.hpp"
#include "client/bench/stats.hpp"

namespace kv::bench {

// Blocks until the run (or, with --load, the load) is over.
run_outcome run_redis(const bench_config& cfg, recorder& rec);

}  // namespace kv::bench
