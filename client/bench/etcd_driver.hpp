// client/bench/etcd_driver.hpp
// Drives etcd v3 through its HTTP/JSON gRPC gateway (kvbench's own HTTP/1.1 client, not
// etcd's Go client) with the same accounting as the other drivers: one thread, epoll,
// `concurrency` virtual clients in a closed loop. Virtual client i keeps one keep-alive
// connection to member i mod members, so followers forward writes to the leader as clients
// spread over the members would. Updates are POST /v3/kv/put, reads POST /v3/kv/range
// (linearizable, etcd's default). A range without "kvs" is NOT_FOUND; another status than 200
// is HTTP_<status>, an error body ETCD_ERROR, an operation older than --timeout-ms TIMEOUT. A
// dropped connection fails the operation on it (CONNECTION) and is reconnected, and counted.
#pragma once

#include "client/bench/config.hpp"
#include "client/bench/stats.hpp"

namespace kv::bench {

// Blocks until the run (or, with --load, the load) is over.
run_outcome run_etcd(const bench_config& cfg, recorder& rec);

}  // namespace kv::bench
