// Children in start order; each may use only those above it:
//   replica.0 .. replica.R-1  ->  gossip  ->  handoff  ->  hint_store  ->  anti_entropy
//     ->  compaction  ->  coordinator  ->  node
//
// Restart strategy: one-for-one. Children hold no handles of one another; they meet through
// the registry, so a restart is invisible to the others beyond the requests it had in flight.
// A replica is restarted from what its partitions hold on disk.
//
// Restart intensity: more than cfg.max_restarts restarts within cfg.restart_window means the
// node is sick. The supervisor stops every child and terminates with an error; kvnode exits
// non-zero and the process manager or container runtime restarts the whole node. A failed
// disk write is fatal at once: the storage engine refuses writes from then on, so restarting
// children would change nothing, while a new process recovers from what the WAL holds. A full
// disk is not a failed one: the engine refuses writes UNAVAILABLE until space is freed and no
// actor fails (storage/engine.hpp), since a restart would only meet the same full disk.
//
// Shutdown: an exit message stops the children in reverse start order, each one only after the
// child started after it has terminated; then the supervisor terminates.
#include "actors/supervisor.hpp"

#include <deque>
#include <functional>
#include <vector>

#include "actors/anti_entropy.hpp"
#include "actors/compaction.hpp"
#include "actors/coordinator.hpp"
#include "actors/gossip.hpp"
#include "actors/handoff.hpp"
#include "actors/hint_store.hpp"
#include "actors/net/shield.hpp"
#include "actors/node/log.hpp"
#include "actors/node/metrics.hpp"
#include "actors/node/node.hpp"
#include "actors/node/registry.hpp"
#include "actors/replica.hpp"
#include "caf/all.hpp"
#include "messages/errc.hpp"
#include "storage/engine.hpp"

namespace kv::actors {
namespace {

struct supervisor_state;
using supervisor_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

struct child {
  child(std::string role, std::function<caf::actor(supervisor_pointer)> start)
      : role(std::move(role)), start(std::move(start)) {}

  std::string role;
  std::function<caf::actor(supervisor_pointer)> start;
  caf::actor current;
  uint64_t restarts = 0;
};

struct supervisor_state {
  supervisor_deps deps;
  std::vector<child> children;  // in start order
  std::deque<caf::actor_clock::time_point> recent_restarts;
  bool stopping = false;
  caf::error stop_reason;
  std::shared_ptr<spdlog::logger> log = log::get("supervisor");

  static inline const char* name = "supervisor";
};

// The tree. Everything a child needs is copied into it here.
std::vector<child> node_children(const supervisor_deps& deps) {
  std::vector<child> result;
  for (uint32_t i = 0; i < deps.cfg.replica_actors; ++i) {
    auto cfg = make_replica_config(deps.cfg, i, deps.issuer);
    cfg.reg = deps.reg;
    // An unsynced node's replicas run on the scheduler, their rare fsyncs on a syncer thread.
    auto detached = deps.cfg.detached_replicas && deps.cfg.sync;
    cfg.offload_syncs = deps.cfg.detached_replicas && !deps.cfg.sync;
    result.emplace_back(replica_role(i), [cfg, db = deps.db, detached](supervisor_pointer self) {
      return caf::actor_cast<caf::actor>(spawn_replica(self, cfg, db, detached));
    });
  }
  result.emplace_back("gossip", [deps](supervisor_pointer self) {
    return caf::actor_cast<caf::actor>(
        spawn_gossip(self, {deps.cfg, deps.db, deps.reg, deps.view, deps.epoch, deps.peers,
                            deps.audit, deps.metrics}));
  });
  result.emplace_back("handoff", [deps](supervisor_pointer self) {
    return caf::actor_cast<caf::actor>(spawn_handoff(
        self, {deps.cfg, deps.db, deps.reg, deps.view, caf::actor_cast<caf::actor>(self)}));
  });
  result.emplace_back("hint_store", [deps](supervisor_pointer self) {
    return caf::actor_cast<caf::actor>(spawn_hint_store(self, deps));
  });
  result.emplace_back("anti_entropy", [deps](supervisor_pointer self) {
    return caf::actor_cast<caf::actor>(spawn_anti_entropy(self, deps));
  });
  result.emplace_back("compaction", [deps](supervisor_pointer self) {
    return caf::actor_cast<caf::actor>(spawn_compaction(self, deps));
  });
  result.emplace_back("coordinator", [deps](supervisor_pointer self) {
    return caf::actor_cast<caf::actor>(spawn_coordinator(self, deps));
  });
  result.emplace_back("node", [deps](supervisor_pointer self) {
    return caf::actor_cast<caf::actor>(spawn_node(self, deps, self));
  });
  return result;
}

void start(supervisor_pointer self, child& c) {
  c.current = c.start(self);
  self->monitor(c.current);
  self->state.deps.reg->put(c.role, caf::actor_cast<caf::strong_actor_ptr>(c.current));
}

// Stops the last running child; its down message continues the sequence.
void stop_next(supervisor_pointer self) {
  auto& st = self->state;
  for (auto i = st.children.rbegin(); i != st.children.rend(); ++i) {
    if (i->current) {
      self->send_exit(i->current, caf::exit_reason::user_shutdown);
      return;
    }
  }
  st.deps.reg->clear();
  st.log->info("SupervisorStopped reason=\"{}\"", caf::to_string(st.stop_reason));
  self->quit(st.stop_reason);
}

void begin_stop(supervisor_pointer self, caf::error reason) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  st.stop_reason = std::move(reason);
  stop_next(self);
}

// True when one more restart now stays within the intensity limit.
bool allow_restart(supervisor_state& st, caf::actor_clock::time_point now) {
  st.recent_restarts.push_back(now);
  while (!st.recent_restarts.empty() &&
         st.recent_restarts.front() + st.deps.cfg.restart_window < now)
    st.recent_restarts.pop_front();
  return st.recent_restarts.size() <= st.deps.cfg.max_restarts;
}

void on_down(supervisor_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = std::find_if(st.children.begin(), st.children.end(), [&](const child& c) {
    return c.current && c.current.address() == dm.source;
  });
  if (i == st.children.end()) return;
  // While restarting, the registry keeps naming the dead child until start() replaces it, so a
  // lookup never finds the role missing; callers of the dead one get an error and retry.
  auto dead = caf::actor_cast<caf::strong_actor_ptr>(i->current);
  i->current = nullptr;
  if (st.stopping) {
    st.deps.reg->erase(i->role, dead);
    return stop_next(self);
  }
  auto reason = describe(dm.reason);
  st.log->warn("ActorDied role={} reason=\"{}\"", i->role, reason);
  if (!st.deps.db->healthy()) {
    st.deps.reg->erase(i->role, dead);
    auto text = "storage failed (" + reason + "); stopping so that a restart recovers from the WAL";
    st.log->error("NodeSick {}", text);
    return begin_stop(self, make_error(errc::internal, std::move(text)));
  }
  if (!allow_restart(st, self->clock().now())) {
    st.deps.reg->erase(i->role, dead);
    auto text = "restart intensity exceeded: more than " +
                std::to_string(st.deps.cfg.max_restarts) + " restarts within " +
                std::to_string(st.deps.cfg.restart_window.count()) + " ms; last: " + i->role +
                " (" + reason + ")";
    st.log->error("NodeSick {}", text);
    return begin_stop(self, make_error(errc::internal, std::move(text)));
  }
  start(self, *i);
  ++i->restarts;
  if (st.deps.metrics) st.deps.metrics->actor_restarts.fetch_add(1, std::memory_order_relaxed);
  st.log->info("ActorRestarted role={} restarts={}", i->role, i->restarts);
}

msg::SupervisorStatusReply status(const supervisor_state& st) {
  msg::SupervisorStatusReply reply;
  for (auto& c : st.children) {
    auto* actor = reply.add_actors();
    actor->set_role(c.role);
    actor->set_restarts(c.restarts);
    actor->set_running(static_cast<bool>(c.current));
  }
  return reply;
}

supervisor_actor::behavior_type supervisor(supervisor_pointer self, supervisor_deps deps) {
  auto& st = self->state;
  st.children = node_children(deps);
  st.deps = std::move(deps);
  shield(self, "supervisor", [self](caf::scheduled_actor*, caf::exit_msg& em) {
    begin_stop(self, std::move(em.reason));
  });
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  for (auto& c : st.children) start(self, c);
  st.log->info("SupervisorStarted children={}", st.children.size());
  return {
      [self](const msg::SupervisorStatusRequest&) { return status(self->state); },
  };
}

}  // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_deps deps) {
  return sys.spawn(supervisor, std::move(deps));
}

}  // namespace kv::actors
