// actors/fsm.hpp
// What the coordinator hands to the per-request state machines it spawns (put_fsm.cpp,
// get_fsm.cpp). An FSM receives the client's request by delegation, talks to the replicas of
// the key, answers the client directly, tells the coordinator it is done, and quits. It never
// waits on a timer of its own: the coordinator sends `deadline` when the request's time is up
// (one timer for all requests, instead of one pinned clock entry per request), and `orphan`
// if the coordinator dies first, upon which the FSM keeps its own deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <memory>

#include "actors/config.hpp"
#include "actors/interfaces.hpp"
#include "actors/metrics.hpp"
#include "caf/actor_clock.hpp"
#include "cluster/consistency.hpp"

namespace kv::actors {

// One replica of the key's preference list.
struct fsm_target {
  std::string name;  // "n1/replica.3", for messages and logs
  replica_actor replica;
};

struct fsm_args {
  uint64_t id = 0;
  coordinator_actor coordinator;  // receives (fsm_done, id)
  uint32_t partition = 0;
  std::string ns;
  std::string key;
  bool lww = false;
  cluster::quorum_plan plan;
  std::vector<fsm_target> targets;  // the coordinating replica first
  msg::VersionVector context;       // writes: the client's context, validated
  caf::actor_clock::time_point started;
  caf::actor_clock::time_point deadline;
  std::chrono::milliseconds timeout{0};
  wall_clock now_ms;
  std::shared_ptr<node_metrics> metrics;
};

// Counts the answer to the request `args` describes in the node's metrics.
void count_answer(const fsm_args& args, op kind, errc code, caf::actor_clock::time_point now);

put_fsm_actor spawn_put_fsm(caf::local_actor* parent, fsm_args args);
get_fsm_actor spawn_get_fsm(caf::local_actor* parent, fsm_args args);

// "w=2 needs 2 replicas, 1 acknowledged" style texts shared by both FSMs.
std::string quorum_text(char what, uint32_t required, uint32_t got, const char* verb);

}  // namespace kv::actors
