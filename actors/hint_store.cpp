#include "actors/hint_store.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "actors/net/shield.hpp"
#include "actors/node/cluster_view.hpp"
#include "actors/node/log.hpp"
#include "actors/node/metrics.hpp"
#include "actors/node/registry.hpp"
#include "actors/replica.hpp"
#include "caf/all.hpp"
#include "cluster/handoff.hpp"
#include "messages/errc.hpp"
#include "messages/storage.pb.h"
#include "storage/engine.hpp"
#include "storage/gc.hpp"
#include "storage/keys.hpp"

namespace kv::actors {
namespace {

using steady = std::chrono::steady_clock;
constexpr auto rescan_every = std::chrono::seconds{60};

struct owner_summary {
  uint64_t hints = 0;
  uint64_t bytes = 0;
  int64_t oldest_ms = 0;
};

struct hint_store_state {
  supervisor_deps deps;
  uint32_t n = 1;  // the longest preference list of any namespace
  std::map<std::string, owner_summary> owners;
  std::set<std::string> replaying;  // owners with a batch in flight
  // Where the next batch of an owner's replay starts (the hints before it were sent in this
  // pass): one pass is one scan of the owner's range, not one per batch over ever more deletes.
  std::map<std::string, std::string> cursors;
  steady::time_point rescanned{};
  uint64_t replayed = 0;
  uint64_t dropped_age = 0;
  uint64_t dropped_size = 0;
  std::shared_ptr<spdlog::logger> log = log::get("hint_store");

  static inline const char* name = "hint_store";
};

using hint_store_pointer = hint_store_actor::stateful_pointer<hint_store_state>;

void publish_gauges(hint_store_state& st) {
  if (!st.deps.metrics) return;
  uint64_t hints = 0;
  uint64_t bytes = 0;
  for (auto& [owner, s] : st.owners) {
    hints += s.hints;
    bytes += s.bytes;
  }
  st.deps.metrics->hints_pending.store(hints, std::memory_order_relaxed);
  st.deps.metrics->hint_bytes.store(bytes, std::memory_order_relaxed);
}

// Rebuilds the per-owner summary from disk.
void rescan(hint_store_state& st) {
  st.owners.clear();
  auto err = st.deps.db->scan(storage::column::hints, "", "",
                              [&](std::string_view key, std::string_view value) {
                                auto parts = storage::parse_hint_key(key);
                                if (!parts) return true;
                                auto& s = st.owners[std::string{parts->owner}];
                                if (s.hints++ == 0) s.oldest_ms = parts->created_ms;
                                s.bytes += key.size() + value.size();
                                return true;
                              });
  if (err) st.log->error("HintScanFailed err=\"{}\"", describe(err));
  st.rescanned = steady::now();
  publish_gauges(st);
}

// Recounts the hints of one owner.
void rescan_owner(hint_store_state& st, const std::string& owner) {
  owner_summary s;
  auto range = storage::hint_range(owner);
  static_cast<void>(st.deps.db->scan(storage::column::hints, range.first, range.last,
                                     [&](std::string_view key, std::string_view value) {
                                       auto parts = storage::parse_hint_key(key);
                                       if (parts && s.hints++ == 0) s.oldest_ms = parts->created_ms;
                                       s.bytes += key.size() + value.size();
                                       return true;
                                     }));  // a failed read keeps a wrong count until the rescan
  if (s.hints == 0)
    st.owners.erase(owner);
  else
    st.owners[owner] = s;
}

// The oldest hint of `owner` is gone: the summary learns the next one's age.
void refresh_oldest(hint_store_state& st, const std::string& owner) {
  auto i = st.owners.find(owner);
  if (i == st.owners.end()) return;
  auto range = storage::hint_range(owner);
  bool found = false;
  static_cast<void>(st.deps.db->scan(storage::column::hints, range.first, range.last,
                                     [&](std::string_view key, std::string_view) {
                                       if (auto parts = storage::parse_hint_key(key))
                                         i->second.oldest_ms = parts->created_ms;
                                       found = true;
                                       return false;
                                     }));  // a failed read leaves the old age: harmless
  if (!found) st.owners.erase(i);
}

// -- bounds ---------------------------------------------------------------------------------------

void enforce_bounds(hint_store_pointer self) {
  auto& st = self->state;
  const auto& cfg = st.deps.cfg;
  auto now = cfg.now_ms();
  uint64_t total = 0;
  bool too_old = false;
  for (auto& [owner, s] : st.owners) {
    total += s.bytes;
    too_old = too_old || s.oldest_ms + cfg.hint_max_age.count() <= now;
  }
  if (!too_old && total <= cfg.hint_max_bytes) return;
  struct entry {
    std::string key;
    std::string owner;
    uint32_t partition;
  };
  std::vector<entry> entries;
  std::vector<storage::hint_info> infos;
  auto err = st.deps.db->scan(
      storage::column::hints, "", "", [&](std::string_view key, std::string_view value) {
        auto parts = storage::parse_hint_key(key);
        msg::HintRecord hint;
        if (!parts || !hint.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          st.log->error("HintDamaged bytes={}: skipped", key.size());
          return true;
        }
        if (st.replaying.count(std::string{parts->owner})) return true;  // draining already
        entries.push_back({std::string{key}, std::string{parts->owner}, hint.partition()});
        infos.push_back({parts->created_ms, key.size() + value.size()});
        return true;
      });
  if (err) {
    st.log->error("HintScanFailed err=\"{}\"", describe(err));
    return;
  }
  auto drops = storage::hints_to_drop(infos, {cfg.hint_max_age.count(), cfg.hint_max_bytes}, now);
  storage::write_batch batch;
  std::set<uint32_t> partitions;
  std::set<std::string> owners;
  auto drop = [&](size_t i) {
    batch.erase(storage::column::hints, entries[i].key);
    partitions.insert(entries[i].partition);
    owners.insert(entries[i].owner);
  };
  for (auto i : drops.too_old) drop(i);
  for (auto i : drops.too_many) drop(i);
  if (batch.empty()) return;
  // The marks go in the same synced batch as the deletes: anti-entropy learns of every
  // partition whose hints are gone, even if the node dies right after.
  for (auto p : partitions)
    if (p < cfg.partitions)
      batch.put(storage::column::meta, repair_mark_key(p), std::to_string(now));
  if (auto werr = st.deps.db->write(batch, true)) {
    st.log->error("HintDropFailed err=\"{}\"", describe(werr));
    return;
  }
  st.dropped_age += drops.too_old.size();
  st.dropped_size += drops.too_many.size();
  if (st.deps.metrics)
    st.deps.metrics->hints_dropped.fetch_add(drops.too_old.size() + drops.too_many.size(),
                                             std::memory_order_relaxed);
  std::string owner_list;
  for (auto& o : owners) owner_list += (owner_list.empty() ? "" : ",") + o;
  st.log->warn(
      "HintsDropped too_old={} too_large={} owners={} partitions={} max_age_ms={} "
      "max_bytes={}: their partitions are marked for anti-entropy",
      drops.too_old.size(), drops.too_many.size(), owner_list, partitions.size(),
      cfg.hint_max_age.count(), cfg.hint_max_bytes);
  if (auto ae = st.deps.reg->get_as<anti_entropy_actor>("anti_entropy"))
    for (auto p : partitions) self->send(ae, urgent_atom::value, p);
  for (auto& o : owners) rescan_owner(st, o);  // none of them is replaying (skipped above)
  publish_gauges(st);
}

// -- replay ---------------------------------------------------------------------------------------

// Where a hint goes: its owner, or, when the owner no longer holds the partition (it was
// removed, or placement moved on), every current replica of it. Empty when one of them cannot
// be reached now.
std::vector<replica_api> destinations(const hint_store_state& st, const cluster_snapshot& snap,
                                      const std::string& owner, uint32_t partition) {
  std::vector<uint32_t> members;
  auto m = snap.ring->index_of(owner);
  if (m && cluster::holds(*snap.ring, partition, st.n, owner))
    members.push_back(*m);
  else
    members = snap.ring->preference_list(partition, st.n);
  std::vector<replica_api> result;
  for (auto m : members) {
    auto r = replica_of(snap, *st.deps.reg, m, partition, st.deps.cfg.replica_actors);
    if (!r) return {};
    result.push_back(std::move(r));
  }
  return result;
}

struct hint_in_flight {
  std::string key;
  uint64_t bytes = 0;
  uint32_t left = 0;  // deliveries not yet answered
  bool failed = false;
};

struct batch_in_flight {
  std::string owner;
  std::string next;  // the key after the last one this batch scanned
  std::vector<hint_in_flight> hints;
  size_t left = 0;  // deliveries not yet answered, all hints
  bool full = false;
  caf::error first_error;
};

void replay_owner(hint_store_pointer self, const std::string& owner);

// Every delivery of the batch was answered: delete what was acknowledged everywhere.
void batch_done(hint_store_pointer self, batch_in_flight& b) {
  auto& st = self->state;
  st.replaying.erase(b.owner);
  storage::write_batch batch;
  uint64_t bytes = 0;
  for (auto& h : b.hints) {
    if (h.failed) continue;
    batch.erase(storage::column::hints, h.key);
    bytes += h.bytes;
  }
  auto deleted = batch.count();
  if (deleted > 0) {
    // Unsynced: a delete lost in a crash only replays the hint again, and a merge is idempotent.
    if (auto err = st.deps.db->write(batch, false)) {
      st.log->error("HintDeleteFailed owner={} err=\"{}\"", b.owner, describe(err));
      return;
    }
    st.replayed += deleted;
    if (st.deps.metrics) st.deps.metrics->hints_replayed.fetch_add(deleted);
    if (auto i = st.owners.find(b.owner); i != st.owners.end()) {
      i->second.hints -= std::min<uint64_t>(i->second.hints, deleted);
      i->second.bytes -= std::min(i->second.bytes, bytes);
    }
    refresh_oldest(st, b.owner);
    publish_gauges(st);
  }
  if (b.first_error) {
    st.cursors.erase(b.owner);  // the next round starts over, with the ones that failed
    st.log->warn("HintReplayInterrupted owner={} delivered={} failed={} err=\"{}\"", b.owner,
                 deleted, b.hints.size() - deleted, describe(b.first_error));
    return;
  }
  st.log->debug("HintsReplayed owner={} count={}", b.owner, deleted);
  if (!b.full) {
    st.cursors.erase(b.owner);  // the pass reached the end
    return;
  }
  st.cursors[b.owner] = b.next;
  replay_owner(self, b.owner);
}

// Hints that do not parse (damage on this disk) can never be delivered: they are deleted,
// counted with the dropped ones, and logged.
void drop_damaged(hint_store_state& st, const std::string& owner,
                  const std::vector<std::string>& keys) {
  storage::write_batch batch;
  for (auto& k : keys) batch.erase(storage::column::hints, k);
  if (auto err = st.deps.db->write(batch, false)) {
    st.log->error("HintDropFailed owner={} err=\"{}\"", owner, describe(err));
    return;
  }
  st.log->error("HintsDamaged owner={} count={}: dropped (they do not parse)", owner, keys.size());
  if (st.deps.metrics) st.deps.metrics->hints_dropped.fetch_add(keys.size());
  rescan_owner(st, owner);
  publish_gauges(st);
}

// Sends the next batch of `owner`'s hints, if its destinations can be reached.
void replay_owner(hint_store_pointer self, const std::string& owner) {
  auto& st = self->state;
  auto snap = st.deps.view->current();
  if (!snap->complete || st.replaying.count(owner)) return;
  auto b = std::make_shared<batch_in_flight>();
  b->owner = owner;
  struct delivery {
    size_t hint;
    replica_api to;
    msg::ReplicaWriteRequest req;
  };
  std::vector<delivery> deliveries;
  std::vector<std::string> damaged;
  auto range = storage::hint_range(owner);
  auto cursor = st.cursors.find(owner);
  auto first = cursor != st.cursors.end() ? cursor->second : range.first;
  auto cutoff = st.deps.cfg.now_ms() - st.deps.cfg.hint_max_age.count();
  auto err = st.deps.db->scan(
      storage::column::hints, first, range.last, [&](std::string_view key, std::string_view value) {
        b->next = std::string{key} + '\0';
        auto parts = storage::parse_hint_key(key);
        msg::HintRecord hint;
        if (!parts || !hint.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          damaged.emplace_back(key);  // it can never be delivered
          return true;
        }
        if (parts->created_ms <= cutoff) return true;  // too old: the bounds drop it
        auto to = destinations(st, *snap, owner, hint.partition());
        if (to.empty()) return true;
        b->hints.push_back({std::string{key}, key.size() + value.size(), 0, false});
        msg::ReplicaWriteRequest req;
        req.set_partition(hint.partition());
        req.set_ns(hint.ns());
        req.set_key(hint.key());
        req.set_lww(hint.lww());
        req.set_durable(true);  // the hint goes once acknowledged: the owner must have it synced
        *req.mutable_merge() = std::move(*hint.mutable_object());
        for (auto& r : to) deliveries.push_back({b->hints.size() - 1, r, req});
        b->hints.back().left = static_cast<uint32_t>(to.size());
        return b->hints.size() < st.deps.cfg.hint_batch_keys;
      });
  if (err) {
    st.log->error("HintScanFailed owner={} err=\"{}\"", owner, describe(err));
    return;
  }
  if (!damaged.empty()) drop_damaged(st, owner, damaged);
  if (deliveries.empty()) {
    st.cursors.erase(owner);  // nothing sendable up to the end: the next round starts over
    return;
  }
  b->full = b->hints.size() == st.deps.cfg.hint_batch_keys;
  b->left = deliveries.size();
  st.replaying.insert(owner);
  for (auto& d : deliveries) {
    auto answered = [self, b, i = d.hint](const caf::error* err) {
      auto& h = b->hints[i];
      --h.left;
      if (err) {
        h.failed = true;
        if (!b->first_error) b->first_error = *err;
      }
      if (--b->left == 0) batch_done(self, *b);
    };
    self->request(d.to, caf::infinite, std::move(d.req))
        .then([answered](msg::ReplicaWriteReply&) { answered(nullptr); },
              [answered](caf::error& e) { answered(&e); });
  }
}

void replay(hint_store_pointer self) {
  auto& st = self->state;
  auto snap = st.deps.view->current();
  if (!snap->complete) return;
  std::vector<std::string> ready;
  for (auto& [owner, s] : st.owners) {
    if (st.replaying.count(owner)) continue;  // an owner is listed while it has hints
    auto m = snap->ring->index_of(owner);
    if (m && *m != snap->self && !snap->peers[*m].up) continue;  // wait until it is up
    ready.push_back(owner);
  }
  for (auto& owner : ready) replay_owner(self, owner);
}

msg::HintsReply describe_hints(const hint_store_state& st) {
  msg::HintsReply reply;
  auto snap = st.deps.view->current();
  for (auto& [owner, s] : st.owners) {
    if (s.hints == 0) continue;
    auto& o = *reply.add_owners();
    o.set_owner(owner);
    o.set_hints(s.hints);
    o.set_bytes(s.bytes);
    o.set_oldest_ms(s.oldest_ms);
    auto m = snap->ring ? snap->ring->index_of(owner) : std::nullopt;
    o.set_reachable(m && (*m == snap->self || snap->peers[*m].up));
    reply.set_hints(reply.hints() + s.hints);
    reply.set_bytes(reply.bytes() + s.bytes);
  }
  reply.set_replayed(st.replayed);
  reply.set_dropped_age(st.dropped_age);
  reply.set_dropped_size(st.dropped_size);
  reply.set_max_bytes(st.deps.cfg.hint_max_bytes);
  reply.set_max_age_ms(static_cast<uint64_t>(st.deps.cfg.hint_max_age.count()));
  return reply;
}

hint_store_actor::behavior_type hint_store(hint_store_pointer self, supervisor_deps deps) {
  shield(self, "hint_store");
  auto& st = self->state;
  st.deps = std::move(deps);
  st.n = max_replicas(st.deps.cfg);
  rescan(st);
  if (!st.owners.empty()) {
    uint64_t hints = 0;
    for (auto& [owner, s] : st.owners) hints += s.hints;
    st.log->info("HintsFound owners={} hints={}: replayed once their owners are up",
                 st.owners.size(), hints);
  }
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        auto& st = self->state;
        if (st.replaying.empty() && steady::now() - st.rescanned >= rescan_every) rescan(st);
        enforce_bounds(self);
        replay(self);
        self->delayed_send(self, st.deps.cfg.hint_replay_interval, tick_atom::value);
      },
      [self](hints_atom, const std::string& owner, uint64_t count, uint64_t bytes,
             int64_t oldest_ms) {
        auto& s = self->state.owners[owner];
        s.oldest_ms = s.hints == 0 ? oldest_ms : std::min(s.oldest_ms, oldest_ms);
        s.hints += count;
        s.bytes += bytes;
        publish_gauges(self->state);
      },
      [self](const msg::HintsRequest&) { return describe_hints(self->state); },
  };
}

}  // namespace

std::string repair_mark_key(uint32_t partition) {
  return repair_mark_prefix + std::to_string(partition);
}

hint_store_actor spawn_hint_store(caf::local_actor* parent, supervisor_deps deps) {
  return parent->spawn(hint_store, std::move(deps));
}

}  // namespace kv::actors
