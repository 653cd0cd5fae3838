#include "actors/compaction.hpp"

#include <algorithm>
#include <chrono>

#include "actors/net/shield.hpp"
#include "actors/node/cluster_view.hpp"
#include "actors/node/log.hpp"
#include "actors/node/metrics.hpp"
#include "actors/node/registry.hpp"
#include "actors/replica.hpp"
#include "caf/all.hpp"
#include "messages/errc.hpp"
#include "storage/codec.hpp"
#include "storage/engine.hpp"
#include "storage/gc.hpp"
#include "storage/keys.hpp"

namespace kv::actors {
namespace {

using steady = std::chrono::steady_clock;
constexpr size_t max_candidates = 10000;  // per partition and pass; the next pass does more
constexpr size_t in_flight = 16;

struct candidate {
  std::string ns;
  std::string key;
  storage::object object;
  bool tombstone = false;  // else expired
};

struct compaction_state {
  supervisor_deps deps;
  uint32_t n = 1;
  bool running = false;
  uint32_t partition = 0;  // of the pass in progress
  std::vector<candidate> candidates;
  size_t next = 0;
  size_t outstanding = 0;
  uint64_t removed_here = 0;  // in this partition, for the compaction decision
  steady::time_point pass_started;
  // Totals.
  uint64_t passes = 0;
  int64_t last_pass_ms = 0;
  uint64_t keys_scanned = 0;
  uint64_t purged = 0;
  uint64_t expired = 0;
  uint64_t waiting = 0;  // in the current pass
  uint64_t last_waiting = 0;
  uint64_t compactions = 0;
  std::shared_ptr<spdlog::logger> log = log::get("compaction");

  static inline const char* name = "compaction";
};

using compaction_pointer = compaction_actor::stateful_pointer<compaction_state>;

msg::ReplicaWriteRequest purge_request(const compaction_state& st, uint32_t p, const candidate& c) {
  msg::ReplicaWriteRequest req;
  req.set_partition(p);
  req.set_ns(c.ns);
  req.set_key(c.key);
  req.set_lww(namespace_settings(st.deps.cfg, c.ns).lww);
  storage::to_proto(c.object, *req.mutable_purge());
  return req;
}

void step(compaction_pointer self);

void settled(compaction_pointer self) {
  if (--self->state.outstanding == 0) step(self);
}

// An expired object: this node's replica removes it if it still holds exactly that.
void remove_expired(compaction_pointer self, const candidate& c) {
  auto& st = self->state;
  auto snap = st.deps.view->current();
  if (snap->self == cluster_snapshot::no_member) return;
  auto local =
      replica_of(*snap, *st.deps.reg, snap->self, st.partition, st.deps.cfg.replica_actors);
  if (!local) return;
  ++st.outstanding;
  self->request(local, caf::infinite, purge_request(st, st.partition, c))
      .then(
          [self](msg::ReplicaWriteReply& reply) {
            auto& st = self->state;
            if (reply.purged()) {
              ++st.expired;
              ++st.removed_here;
              if (st.deps.metrics) st.deps.metrics->expired_dropped.fetch_add(1);
            }
            settled(self);
          },
          [self](caf::error&) { settled(self); });
}

// A tombstone past grace: removed from every replica once each holds exactly it.
void remove_tombstone(compaction_pointer self, const candidate& c) {
  auto& st = self->state;
  auto snap = st.deps.view->current();
  std::vector<replica_api> replicas;
  for (auto m : snap->ring->preference_list(st.partition, st.n)) {
    auto r = replica_of(*snap, *st.deps.reg, m, st.partition, st.deps.cfg.replica_actors);
    if (!r) {  // a replica that cannot be asked may still hold the old value
      ++st.waiting;
      return;
    }
    replicas.push_back(std::move(r));
  }
  struct check {
    size_t left;
    bool all_hold = true;
  };
  auto ck = std::make_shared<check>(check{replicas.size()});
  msg::ReplicaReadRequest read;
  read.set_partition(st.partition);
  read.set_ns(c.ns);
  read.set_key(c.key);
  ++st.outstanding;
  auto answered = [self, ck, c, replicas](bool holds) {
    ck->all_hold = ck->all_hold && holds;
    if (--ck->left > 0) return;
    auto& st = self->state;
    if (!ck->all_hold) {
      ++st.waiting;
      return settled(self);
    }
    auto left = std::make_shared<size_t>(replicas.size());
    auto req = purge_request(st, st.partition, c);
    for (auto& r : replicas)
      self->request(r, caf::infinite, req)
          .then(
              [self, left](msg::ReplicaWriteReply& reply) {
                auto& st = self->state;
                if (reply.purged() && reply.replica() == st.deps.cfg.node_id) {
                  ++st.purged;
                  ++st.removed_here;
                  if (st.deps.metrics) st.deps.metrics->tombstones_purged.fetch_add(1);
                }
                if (--*left == 0) settled(self);
              },
              [self, left](caf::error&) {
                if (--*left == 0) settled(self);
              });
  };
  for (auto& r : replicas)
    self->request(r, caf::infinite, read)
        .then(
            [answered, c](msg::ReplicaReadReply& reply) mutable {
              auto obj = reply.has_object() ? storage::from_proto(reply.object())
                                            : caf::expected<storage::object>{storage::object{}};
              answered(obj && *obj == c.object);
            },
            [answered](caf::error&) mutable { answered(false); });
}

// Reads the candidates of the pass's current partition.
void scan_partition(compaction_pointer self, const cluster_snapshot& snap) {
  auto& st = self->state;
  st.candidates.clear();
  st.next = 0;
  st.removed_here = 0;
  auto p = st.partition;
  auto list = snap.ring->preference_list(p, st.n);
  bool first = !list.empty() && list.front() == snap.self;  // decides about tombstones
  storage::gc_rules rules{st.deps.cfg.now_ms(), st.deps.cfg.tombstone_grace.count(), 0};
  auto range = storage::partition_range(p);
  auto err = st.deps.db->scan(
      storage::column::data, range.first, range.last,
      [&](std::string_view key, std::string_view value) {
        ++st.keys_scanned;
        auto parts = storage::parse_data_key(key);
        auto obj = storage::decode_object(value);
        if (!parts || !obj) return true;
        rules.ttl_ms = namespace_settings(st.deps.cfg, std::string{parts->ns}).ttl_ms;
        auto verdict = storage::judge(*obj, rules);
        if (verdict == storage::gc_verdict::keep) return true;
        if (verdict == storage::gc_verdict::tombstone && !first) return true;
        st.candidates.push_back({std::string{parts->ns}, std::string{parts->key}, std::move(*obj),
                                 verdict == storage::gc_verdict::tombstone});
        return st.candidates.size() < max_candidates;
      });
  if (err) st.log->error("CompactionScanFailed partition={} err=\"{}\"", p, describe(err));
}

void pass_done(compaction_pointer self) {
  auto& st = self->state;
  st.running = false;
  ++st.passes;
  st.last_pass_ms = st.deps.cfg.now_ms();
  st.last_waiting = st.waiting;
  auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - st.pass_started);
  st.log->info(
      "CompactionPass scanned={} tombstones_purged={} expired={} tombstones_waiting={} "
      "compactions={} took_ms={}",
      st.keys_scanned, st.purged, st.expired, st.waiting, st.compactions, took.count());
}

// Ends the current partition (compacting it if anything was removed) and starts the next.
void step(compaction_pointer self) {
  auto& st = self->state;
  if (!st.running || st.outstanding > 0) return;
  while (st.next < st.candidates.size() && st.outstanding < in_flight) {
    auto& c = st.candidates[st.next++];
    if (c.tombstone)
      remove_tombstone(self, c);
    else
      remove_expired(self, c);
  }
  if (st.outstanding > 0) return;
  auto snap = st.deps.view->current();
  if (st.removed_here > 0) {
    auto range = storage::partition_range(st.partition);
    if (auto err = st.deps.db->compact_range(storage::column::data, range.first, range.last))
      st.log->warn("CompactRangeFailed partition={} err=\"{}\"", st.partition, describe(err));
    else
      ++st.compactions;
    st.removed_here = 0;
  }
  if (++st.partition >= st.deps.cfg.partitions || !snap->complete ||
      snap->self == cluster_snapshot::no_member)
    return pass_done(self);
  scan_partition(self, *snap);
  self->send(self, step_atom::value);
}

void start_pass(compaction_pointer self) {
  auto& st = self->state;
  auto snap = st.deps.view->current();
  if (st.running || !snap->complete || snap->self == cluster_snapshot::no_member) return;
  st.running = true;
  st.pass_started = steady::now();
  st.partition = 0;
  st.waiting = 0;
  scan_partition(self, *snap);
  self->send(self, step_atom::value);
}

msg::CompactionReply describe_compaction(const compaction_state& st) {
  msg::CompactionReply reply;
  reply.set_passes(st.passes);
  reply.set_last_pass_ms(st.last_pass_ms);
  reply.set_keys_scanned(st.keys_scanned);
  reply.set_tombstones_purged(st.purged);
  reply.set_tombstones_waiting(st.running ? st.waiting : st.last_waiting);
  reply.set_expired(st.expired);
  reply.set_compactions(st.compactions);
  auto c = st.deps.db->compaction();
  reply.set_pending_compaction_bytes(c.pending_bytes);
  reply.set_running_compactions(c.running);
  reply.set_sst_bytes(c.sst_bytes);
  reply.set_grace_ms(static_cast<uint64_t>(st.deps.cfg.tombstone_grace.count()));
  return reply;
}

compaction_actor::behavior_type compaction(compaction_pointer self, supervisor_deps deps) {
  shield(self, "compaction");
  auto& st = self->state;
  st.deps = std::move(deps);
  st.n = max_replicas(st.deps.cfg);
  self->delayed_send(self, st.deps.cfg.compaction_interval, tick_atom::value);
  return {
      [self](tick_atom) {
        start_pass(self);
        self->delayed_send(self, self->state.deps.cfg.compaction_interval, tick_atom::value);
      },
      [self](step_atom) { step(self); },
      [self](const msg::CompactionRequest&) { return describe_compaction(self->state); },
  };
}

}  // namespace

compaction_actor spawn_compaction(caf::local_actor* parent, supervisor_deps deps) {
  // Actor tests run everything on the deterministic scheduler (see detached_replicas).
  if (!deps.cfg.detached_replicas) return parent->spawn(compaction, std::move(deps));
  return parent->spawn<caf::detached>(compaction, std::move(deps));
}

}  // namespace kv::actors
