// client/bench/ringkv_driver.hpp
// Drives ringkv, or kvbench's echo server, through the client actor of client/client.hpp: one
// event-based actor keeps `concurrency` requests in flight, round-robin over one client actor
// per --nodes entry, all in one actor system of `threads` scheduler threads. Requests use
// caf::infinite (the client actor answers every request by its deadline plus grace). Updates
// carry the context of what the replies for their key showed (the load's put reply and every
// reply since, joined where operations overlapped), so they supersede what they read and
// wrote instead of piling up siblings.
#pragma once

#include "client/bench/config.hpp"
#include "client/bench/stats.hpp"

namespace kv::bench {

// Blocks until the run (or, with --load, the load) is over.
run_outcome run_ringkv(const bench_config& cfg, recorder& rec);

}  // namespace kv::bench
