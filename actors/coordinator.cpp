#include "actors/coordinator.hpp"

#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/fsm.hpp"
#include "actors/net/shield.hpp"
#include "actors/node/cluster_view.hpp"
#include "actors/node/metrics.hpp"
#include "actors/node/registry.hpp"
#include "actors/replica.hpp"
#include "caf/all.hpp"
#include "cluster/partitioner.hpp"
#include "messages/errc.hpp"
#include "storage/codec.hpp"

namespace kv::actors {
namespace {

using time_point = caf::actor_clock::time_point;

using deadline_entry = std::pair<time_point, uint64_t>;

// FSMs still running, by id. Shared with the exit functor, which tells them to keep their own
// deadlines when the coordinator dies before them.
using live_fsms = std::unordered_map<uint64_t, caf::actor>;

struct coordinator_state {
  supervisor_deps deps;
  const node_config& cfg() const { return deps.cfg; }
  cluster::partitioner partitions{1};
  uint64_t next_id = 1;
  std::shared_ptr<live_fsms> live = std::make_shared<live_fsms>();
  std::priority_queue<deadline_entry, std::vector<deadline_entry>, std::greater<>> deadlines;
  // Writes whose replicas are slow get fallbacks at this point (sloppy quorum).
  std::priority_queue<deadline_entry, std::vector<deadline_entry>, std::greater<>> hurries;
  bool tick_queued = false;

  static inline const char* name = "coordinator";
};

using coordinator_pointer = coordinator_actor::stateful_pointer<coordinator_state>;

caf::error invalid(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

caf::expected<cluster::level> to_level(msg::Level lvl) {
  switch (lvl) {
    case msg::LEVEL_UNSET:
      return cluster::level::unset;
    case msg::LEVEL_ONE:
      return cluster::level::one;
    case msg::LEVEL_QUORUM:
      return cluster::level::quorum;
    case msg::LEVEL_ALL:
      return cluster::level::all;
    case msg::LEVEL_LOCAL_QUORUM:
      return cluster::level::local_quorum;
    default:
      return invalid("unknown consistency level " + std::to_string(static_cast<int>(lvl)));
  }
}

std::string known_namespaces(const node_config& cfg) {
  std::string result;
  for (auto& [name, ns] : cfg.namespaces) result += (result.empty() ? "" : ", ") + name;
  return result;
}

caf::expected<const cluster::namespace_config*> find_namespace(const node_config& cfg,
                                                               const std::string& name) {
  auto i = cfg.namespaces.find(name.empty() ? "default" : name);
  if (i == cfg.namespaces.end())
    return invalid("unknown namespace '" + name + "' (known: " + known_namespaces(cfg) + ")");
  return &i->second;
}

caf::error check_key(const node_config& cfg, const std::string& key) {
  if (key.empty()) return invalid("empty key");
  if (key.size() > cfg.max_key_bytes)
    return make_error(errc::too_large, "key is " + std::to_string(key.size()) +
                                           " bytes; the limit is " +
                                           std::to_string(cfg.max_key_bytes));
  return caf::none;
}

caf::expected<std::chrono::milliseconds> request_timeout(const node_config& cfg,
                                                         const msg::RequestOptions& opts) {
  if (opts.timeout_ms() == 0) return cfg.default_timeout;
  std::chrono::milliseconds result{opts.timeout_ms()};
  if (result > cfg.max_timeout)
    return invalid("timeout of " + std::to_string(opts.timeout_ms()) + " ms exceeds the limit of " +
                   std::to_string(cfg.max_timeout.count()) + " ms");
  return result;
}

struct located {
  std::vector<fsm_target> targets;    // the reachable replicas, this node's own first, then
                                      // fallbacks standing in for the unreachable ones
  std::vector<fsm_target> fallbacks;  // further reachable fallbacks, in preference order
  std::string unreachable;            // preference-list replicas that could not be reached
};

// The replica of member `m` of the ring, if it can be reached now.
std::optional<fsm_target> target_of(const coordinator_state& st, const cluster_snapshot& snap,
                                    uint32_t partition, uint32_t m) {
  const auto& id = snap.member(m).id;
  if (m == snap.self) {
    auto role =
        replica_role(replica_index(partition, st.cfg().partitions, st.cfg().replica_actors));
    if (auto replica = st.deps.reg->get_as<replica_actor>(role))
      return fsm_target{id, id + "/" + role, std::move(replica), {}};
  } else if (snap.peers[m].up) {
    return fsm_target{id, id, snap.peers[m].link, {}};
  }
  return std::nullopt;
}

// The first n members of the partition's preference order that can be reached now. This node's
// replica, when it is one of them, comes first: it coordinates the write without a hop. With
// `sloppy`, each one that cannot be reached is replaced by the next reachable member after the
// first n (a fallback), which holds the write as a hint for it.
located locate(const coordinator_state& st, const cluster_snapshot& snap, uint32_t partition,
               uint32_t n, bool sloppy) {
  located result;
  const auto& order = snap.ring->order(partition);
  auto primaries = std::min<size_t>(n, order.size());
  std::vector<std::string> missing;
  for (size_t i = 0; i < primaries; ++i) {
    auto target = target_of(st, snap, partition, order[i]);
    if (!target) {
      missing.push_back(snap.member(order[i]).id);
      result.unreachable += (result.unreachable.empty() ? "" : ", ") + missing.back();
    } else if (order[i] == snap.self) {
      result.targets.insert(result.targets.begin(), std::move(*target));
    } else {
      result.targets.push_back(std::move(*target));
    }
  }
  if (!sloppy) return result;
  for (size_t i = primaries; i < order.size(); ++i)
    if (auto target = target_of(st, snap, partition, order[i]))
      result.fallbacks.push_back(std::move(*target));
  size_t used = 0;
  for (; used < missing.size() && used < result.fallbacks.size(); ++used) {
    auto target = result.fallbacks[used];
    target.hint_for = missing[used];
    target.name += " (for " + missing[used] + ")";
    result.targets.push_back(std::move(target));
  }
  result.fallbacks.erase(result.fallbacks.begin(), result.fallbacks.begin() + used);
  return result;
}

// Everything an FSM needs, or the error that answers the request at once.
caf::expected<fsm_args> prepare(coordinator_pointer self, const msg::RequestOptions& opts,
                                const std::string& key, bool write) {
  auto& st = self->state;
  auto ns = find_namespace(st.cfg(), opts.ns());
  if (!ns) return ns.error();
  if (auto err = check_key(st.cfg(), key)) return err;
  auto lvl = to_level(opts.level());
  if (!lvl) return lvl.error();
  cluster::requested asked{opts.n(), opts.r(), opts.w(), *lvl};
  auto plan = write ? cluster::plan_write(**ns, asked) : cluster::plan_read(**ns, asked);
  if (!plan) return plan.error();
  auto timeout = request_timeout(st.cfg(), opts);
  if (!timeout) return timeout.error();
  auto snap = st.deps.view->current();
  if (!snap->complete)
    return make_error(errc::unavailable,
                      st.cfg().node_id + " is still learning its cluster's members (seeds)");
  fsm_args args;
  args.id = st.next_id++;
  args.coordinator = self;
  args.ns = (*ns)->name;
  args.key = key;
  args.lww = (*ns)->lww;
  args.plan = *plan;
  args.partition = st.partitions.of(args.ns, key);
  // Only a write counts fallbacks: they hold hints, which reads do not see.
  auto found = locate(st, *snap, args.partition, plan->n, write && !(*ns)->strict);
  args.targets = std::move(found.targets);
  args.fallbacks = std::move(found.fallbacks);
  args.ttl_ms = (*ns)->ttl_ms;
  args.token.max_entries = st.cfg().max_context_entries + (*ns)->max_siblings;
  args.max_object_bytes = (*ns)->max_object_bytes;
  args.max_siblings = (*ns)->max_siblings;
  if (!args.targets.empty() && !args.targets.front().hint_for.empty())
    return make_error(
        errc::unavailable,
        "no replica of partition " + std::to_string(args.partition) +
            " is reachable to coordinate the write (unreachable: " + found.unreachable + ")");
  if (args.targets.size() < plan->required)
    return make_error(errc::unavailable,
                      quorum_text(write ? 'w' : 'r', plan->required,
                                  static_cast<uint32_t>(args.targets.size()), "reachable") +
                          " (partition " + std::to_string(args.partition) +
                          (found.unreachable.empty() ? "" : "; unreachable: " + found.unreachable) +
                          ")");
  args.timeout = *timeout;
  args.started = self->clock().now();
  args.deadline = args.started + *timeout;
  args.now_ms = st.cfg().now_ms;
  args.metrics = st.deps.metrics;
  return args;
}

caf::error add_context(fsm_args& args, const std::string& token) {
  auto context = storage::decode_context(token, args.token);
  if (!context) return context.error();
  storage::to_proto(*context, args.context);
  return caf::none;
}

void schedule_tick(coordinator_pointer self) {
  auto& st = self->state;
  if (st.tick_queued || (st.deadlines.empty() && st.hurries.empty())) return;
  st.tick_queued = true;
  self->delayed_send(self, st.cfg().deadline_tick, tick_atom::value);
}

template <class Handle>
void track(coordinator_pointer self, const fsm_args& args, const Handle& fsm) {
  auto& st = self->state;
  st.live->emplace(args.id, caf::actor_cast<caf::actor>(fsm));
  st.deadlines.emplace(args.deadline, args.id);
  if (!args.fallbacks.empty() && st.cfg().fallback_after < args.timeout)
    st.hurries.emplace(args.started + st.cfg().fallback_after, args.id);
  schedule_tick(self);
}

void on_tick(coordinator_pointer self) {
  auto& st = self->state;
  st.tick_queued = false;
  auto now = self->clock().now();
  while (!st.deadlines.empty() && st.deadlines.top().first <= now) {
    auto id = st.deadlines.top().second;
    st.deadlines.pop();
    if (auto i = st.live->find(id); i != st.live->end()) {
      caf::anon_send(i->second, deadline_atom::value);
      st.live->erase(i);
    }
  }
  while (!st.hurries.empty() && st.hurries.top().first <= now) {
    auto id = st.hurries.top().second;
    st.hurries.pop();
    if (auto i = st.live->find(id); i != st.live->end())
      caf::anon_send(i->second, hurry_atom::value);
  }
  schedule_tick(self);
}

// A request answered at once, without an FSM: bad input, or too few replicas.
caf::error rejected(coordinator_pointer self, op kind, caf::error err) {
  if (auto& m = self->state.deps.metrics)
    m->answered(kind, code_of(err), std::chrono::microseconds{0});
  return err;
}

template <class Reply, class Request>
caf::result<Reply> start_write(coordinator_pointer self, Request& req, op kind) {
  auto args = prepare(self, req.options(), req.key(), true);
  if (!args) return rejected(self, kind, args.error());
  if (auto err = add_context(*args, req.context())) return rejected(self, kind, err);
  auto fsm = spawn_put_fsm(self, *args);
  track(self, *args, fsm);
  return self->delegate(fsm, std::move(req));
}

coordinator_actor::behavior_type coordinator(coordinator_pointer self, supervisor_deps deps) {
  auto& st = self->state;
  st.partitions = cluster::partitioner{deps.cfg.partitions};
  st.deps = std::move(deps);
  shield(self, "coordinator");
  self->attach_functor([live = st.live] {
    for (auto& [id, fsm] : *live) caf::anon_send(fsm, orphan_atom::value);
  });
  return {
      [self](msg::PutRequest& req) -> caf::result<msg::PutReply> {
        auto limit = self->state.cfg().max_value_bytes;
        if (req.value().size() > limit)
          return rejected(
              self, op::put,
              make_error(errc::too_large, "value is " + std::to_string(req.value().size()) +
                                              " bytes; the limit is " + std::to_string(limit)));
        return start_write<msg::PutReply>(self, req, op::put);
      },
      [self](msg::DeleteRequest& req) -> caf::result<msg::DeleteReply> {
        return start_write<msg::DeleteReply>(self, req, op::del);
      },
      [self](msg::GetRequest& req) -> caf::result<msg::GetReply> {
        auto args = prepare(self, req.options(), req.key(), false);
        if (!args) return rejected(self, op::get, args.error());
        auto fsm = spawn_get_fsm(self, *args);
        track(self, *args, fsm);
        return self->delegate(fsm, std::move(req));
      },
      [self](fsm_done_atom, uint64_t id) { self->state.live->erase(id); },
      [self](tick_atom) { on_tick(self); },
  };
}

}  // namespace

coordinator_actor spawn_coordinator(caf::local_actor* parent, supervisor_deps deps) {
  return parent->spawn(coordinator, std::move(deps));
}

coordinator_actor spawn_coordinator(caf::actor_system& sys, supervisor_deps deps) {
  return sys.spawn(coordinator, std::move(deps));
}

}  // namespace kv::actors
