// actors/fsm.hpp
// What the coordinator hands to the per-request state machines it spawns (put_fsm.cpp,
// get_fsm.cpp). An FSM receives the client's request by delegation, talks to the replicas of
// the key, answers the client directly, tells the coordinator it is done, and quits. It never
// waits on a timer of its own: the coordinator sends `deadline` when the request's time is up
// (one timer for all requests, instead of one pinned clock entry per request), and `orphan`
// if the coordinator dies first, upon which the FSM keeps its own deadline. A call to a peer
// that goes fails at once: its link fails what it holds and quits, and a call to a link that
// quit fails with `request_receiver_down`.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <memory>

#include "actors/interfaces.hpp"
#include "actors/node/config.hpp"
#include "actors/node/metrics.hpp"
#include "caf/actor_clock.hpp"
#include "caf/error.hpp"
#include "cluster/consistency.hpp"
#include "storage/codec.hpp"

namespace kv::actors {

// One replica of the key's preference list: this node's replica actor, or the link to a peer.
struct fsm_target {
  std::string node;  // member id
  std::string name;  // "n1/replica.3" or "n2", for messages and logs
  replica_api replica;
  std::string hint_for;  // a fallback: the member it stands in for (sloppy quorum)
};

// Where an FSM stands with each of its targets.
enum class target_state : uint8_t { idle, pending, answered, failed };

struct fsm_args {
  uint64_t id = 0;
  coordinator_actor coordinator;  // receives (fsm_done, id)
  uint32_t partition = 0;
  std::string ns;
  std::string key;
  bool lww = false;
  cluster::quorum_plan plan;
  std::vector<fsm_target> targets;    // the coordinating replica first; fallbacks after replicas
  std::vector<fsm_target> fallbacks;  // writes: spare fallbacks for replicas that fail
  uint64_t ttl_ms = 0;                // reads: the namespace's TTL (0: none)
  msg::VersionVector context;         // writes: the client's context (exact dots too), validated
  storage::token_limits token;        // what the context tokens handed to the client may hold
  uint64_t max_object_bytes = 0;      // writes: the namespace's bounds on the object
  uint32_t max_siblings = 0;
  caf::actor_clock::time_point started;
  caf::actor_clock::time_point deadline;
  std::chrono::milliseconds timeout{0};
  wall_clock now_ms;
  std::shared_ptr<node_metrics> metrics;
};

put_fsm_actor spawn_put_fsm(caf::local_actor* parent, fsm_args args);
get_fsm_actor spawn_get_fsm(caf::local_actor* parent, fsm_args args);

// -- shared by both FSMs ------------------------------------------------------------------------

// Why replicas failed, for the client's answer. An INTERNAL failure (a disk, a corrupt object,
// a bug) is passed on as such; anything else means too few replicas could take part.
class failures {
 public:
  void note(const std::string& replica, const caf::error& err);

  // The answer when `required` can no longer be reached: "w=2 needs 2 replicas, 1
  // acknowledged (n1/replica.3: ...)".
  caf::error quorum_lost(char what, uint32_t required, uint32_t got, const char* verb) const;

 private:
  std::string text_;
  bool internal_ = false;
};

// "w=2 needs 2 replicas, 1 acknowledged".
std::string quorum_text(char what, uint32_t required, uint32_t got, const char* verb);

// The TIMEOUT answer at the deadline.
caf::error deadline_passed(const fsm_args& args, char what, uint32_t got, const char* verb);

// Counts the answer to the request `args` describes in the node's metrics.
void count_answer(const fsm_args& args, op kind, errc code, caf::actor_clock::time_point now);

// The coordinator died: the FSM keeps its deadline itself (a rare path, so one timer per FSM
// is fine here).
template <class Self>
void keep_own_deadline(Self* self, caf::actor_clock::time_point deadline) {
  auto left = deadline - self->clock().now();
  self->delayed_send(self, std::max(left, caf::timespan{0}), deadline_atom::value);
}

}  // namespace kv::actors
