#include "actors/anti_entropy.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "actors/hint_store.hpp"
#include "actors/net/shield.hpp"
#include "actors/node/cluster_view.hpp"
#include "actors/node/log.hpp"
#include "actors/node/metrics.hpp"
#include "actors/node/registry.hpp"
#include "actors/replica.hpp"
#include "caf/all.hpp"
#include "cluster/handoff.hpp"
#include "messages/errc.hpp"
#include "storage/codec.hpp"
#include "storage/engine.hpp"
#include "storage/gc.hpp"

namespace kv::actors {
namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto tick_interval = std::chrono::milliseconds{100};
constexpr size_t keys_in_flight = 8;
constexpr size_t sweeps_kept = 10;
constexpr auto retry_after = std::chrono::seconds{5};  // an urgent exchange that failed

struct partition_stats {
  int64_t last_ms = 0;
  uint64_t exchanges = 0;
  uint64_t differences = 0;
  uint64_t repaired = 0;
  uint64_t last_differences = 0;
  std::string last_error;
};

struct key_ref {
  std::string ns;
  std::string key;
};

// The exchange in progress: one partition, with its other replicas one after another.
struct exchange {
  uint32_t partition = 0;
  std::vector<std::string> peers;  // still to do, after `peer`
  std::string peer;
  replica_api local;
  replica_api remote;
  uint32_t level = 0;
  std::vector<uint32_t> indexes;  // nodes of `level` to compare
  std::vector<uint32_t> buckets;  // differing buckets, being listed
  struct listing {
    std::map<std::pair<std::string, std::string>, uint64_t> keys;  // (ns, key) -> digest
    std::string after;  // the next page starts after this stored key
    bool done = false;
  } listing[2];                                  // local, remote
  std::vector<std::pair<int, uint64_t>> paused;  // (side, generation) waiting for the rate
  std::vector<key_ref> keys;                     // differing keys to sync with `peer`
  bool syncing = false;  // `keys` are listed: the exchange with `peer` syncs them
  size_t next_key = 0;
  size_t in_flight = 0;
  uint64_t differences = 0;         // with `peer`
  uint64_t repaired = 0;            // with `peer`
  bool failed = false;              // with any peer
  std::optional<std::string> mark;  // the partition's repair mark at the start
};

struct ae_state {
  supervisor_deps deps;
  uint32_t n = 1;
  std::map<uint32_t, partition_stats> stats;
  std::set<uint32_t> urgent;  // held partitions that go first (start, rejoins)
  std::set<uint32_t> marked;  // partitions whose hints were dropped here: their holders sync
  std::map<uint32_t, steady::time_point> retry_at;  // urgent or marked ones that failed
  bool resume_queued = false;                       // a wake-up for the rate limiter is on its way
  uint32_t cursor = 0;                              // the sweep's next partition
  steady::time_point next_at{};
  bool step_queued = false;  // a delayed step is on its way
  std::optional<exchange> cur;
  uint64_t generation = 0;  // of `cur`: answers to an abandoned exchange are ignored
  double tokens = 0;
  steady::time_point refilled = steady::now();
  std::map<std::string, bool> was_up;  // by member id, for rejoins
  // Totals.
  uint64_t exchanges = 0;
  uint64_t differences = 0;
  uint64_t repaired = 0;
  uint64_t hashes_compared = 0;
  uint64_t keys_listed = 0;
  uint64_t sweeps = 0;
  uint64_t repaired_this_sweep = 0;
  std::deque<uint64_t> repaired_per_sweep;
  std::shared_ptr<spdlog::logger> log = log::get("anti_entropy");

  static inline const char* name = "anti_entropy";
};

using ae_pointer = anti_entropy_actor::stateful_pointer<ae_state>;

bool holds(const ae_state& st, const cluster_snapshot& snap, uint32_t p) {
  return snap.self != cluster_snapshot::no_member &&
         cluster::holds(*snap.ring, p, st.n, st.deps.cfg.node_id);
}

storage::resolution how(const ae_state& st, const std::string& ns) {
  return namespace_settings(st.deps.cfg, ns).lww ? storage::resolution::lww
                                                 : storage::resolution::causal;
}

void step(ae_pointer self);
void next_peer(ae_pointer self);

// -- bookkeeping ----------------------------------------------------------------------------------

std::optional<std::string> read_mark(const ae_state& st, uint32_t p) {
  auto v = st.deps.db->get(storage::column::meta, repair_mark_key(p));
  if (!v || !*v) return std::nullopt;
  return **v;
}

void load_marks(ae_state& st) {
  std::string prefix = repair_mark_prefix;
  auto last = prefix;
  last.back() = static_cast<char>(last.back() + 1);
  static_cast<void>(st.deps.db->scan(
      storage::column::meta, prefix, last, [&](std::string_view key, std::string_view) {
        auto text = std::string{key.substr(prefix.size())};
        auto p = static_cast<uint32_t>(std::strtoul(text.c_str(), nullptr, 10));
        if (p < st.deps.cfg.partitions) st.marked.insert(p);
        return true;
      }));  // unreadable marks: the sweep covers those partitions anyway
}

// The exchange with the current peer ended (with `err`, or not).
void peer_done(ae_pointer self, const caf::error& err) {
  auto& st = self->state;
  auto& x = *st.cur;
  auto& s = st.stats[x.partition];
  if (err) {
    x.failed = true;
    s.last_error = x.peer + ": " + describe(err);
    st.log->debug("ExchangeFailed partition={} peer={} err=\"{}\"", x.partition, x.peer,
                  describe(err));
  } else {
    ++s.exchanges;
    ++st.exchanges;
    if (st.deps.metrics) st.deps.metrics->repair_exchanges.fetch_add(1);
    s.last_differences = x.differences;
    s.differences += x.differences;
    st.differences += x.differences;
    s.last_error.clear();
    if (x.differences > 0)
      st.log->info("ExchangeRepaired partition={} peer={} differences={} repaired={}", x.partition,
                   x.peer, x.differences, x.repaired);
  }
  next_peer(self);
}

void abandon(ae_pointer self, const caf::error& err) {
  ++self->state.generation;  // answers still on their way are ignored
  peer_done(self, err);
}

// Every peer of the partition is done.
void partition_done(ae_pointer self) {
  auto& st = self->state;
  auto& x = *st.cur;
  auto& s = st.stats[x.partition];
  s.last_ms = st.deps.cfg.now_ms();
  if (x.failed) {  // tried again later, not at once: the others go first meanwhile
    if (st.urgent.count(x.partition) || st.marked.count(x.partition))
      st.retry_at[x.partition] = steady::now() + retry_after;
  } else {
    st.urgent.erase(x.partition);
    st.marked.erase(x.partition);
    st.retry_at.erase(x.partition);
    if (x.mark && read_mark(st, x.partition) == x.mark) {
      storage::write_batch batch;
      batch.erase(storage::column::meta, repair_mark_key(x.partition));
      static_cast<void>(st.deps.db->write(batch, false));  // a kept mark costs one more exchange
    }
  }
  st.cur.reset();
  ++st.generation;
  self->send(self, step_atom::value);
}

// -- the exchange ---------------------------------------------------------------------------------

// Sends `req` to both sides; `done(local, remote)` once both answered, or abandons the peer.
template <class Reply, class Request, class Done>
void ask_both(ae_pointer self, const Request& req, Done done) {
  auto& x = *self->state.cur;
  struct both {
    std::optional<Reply> local;
    std::optional<Reply> remote;
    int left = 2;
    caf::error err;
  };
  auto b = std::make_shared<both>();
  auto gen = self->state.generation;
  auto finish = [self, b, gen, done]() mutable {
    if (--b->left > 0 || gen != self->state.generation) return;
    if (b->err) return abandon(self, b->err);
    done(*b->local, *b->remote);
  };
  self->request(x.local, caf::infinite, req)
      .then([b, finish](Reply& r) mutable { b->local = std::move(r), finish(); },
            [b, finish](caf::error& e) mutable { b->err = e, finish(); });
  self->request(x.remote, caf::infinite, req)
      .then([b, finish](Reply& r) mutable { b->remote = std::move(r), finish(); },
            [b, finish](caf::error& e) mutable { b->err = e, finish(); });
}

void sync_next(ae_pointer self);

// Reads `k` on both sides, merges, and writes the merge where it was missing.
void sync_key(ae_pointer self, const key_ref& k) {
  auto& st = self->state;
  auto& x = *st.cur;
  ++x.in_flight;
  msg::ReplicaReadRequest read;
  read.set_partition(x.partition);
  read.set_ns(k.ns);
  read.set_key(k.key);
  auto gen = st.generation;
  ask_both<msg::ReplicaReadReply>(
      self, read, [self, k, gen](msg::ReplicaReadReply& a, msg::ReplicaReadReply& b) {
        auto& st = self->state;
        auto& x = *st.cur;
        std::optional<storage::object> objs[2];
        for (int side = 0; side < 2; ++side) {
          auto& reply = side == 0 ? a : b;
          if (!reply.has_object()) continue;
          auto obj = storage::from_proto(reply.object());
          if (!obj) return abandon(self, obj.error());
          objs[side] = std::move(*obj);
        }
        auto merged = storage::merge(objs[0].value_or(storage::object{}),
                                     objs[1].value_or(storage::object{}), how(st, k.ns));
        storage::gc_rules rules{st.deps.cfg.now_ms(), st.deps.cfg.tombstone_grace.count(),
                                namespace_settings(st.deps.cfg, k.ns).ttl_ms};
        std::vector<replica_api> stale;
        if (!merged.empty() && storage::judge(merged, rules) != storage::gc_verdict::expired) {
          if (objs[0] != merged) stale.push_back(x.local);
          if (objs[1] != merged) stale.push_back(x.remote);
        }
        if (stale.empty()) {  // equal by now (a write or read repair got there first)
          --x.in_flight;
          return sync_next(self);
        }
        msg::ReplicaWriteRequest write;
        write.set_partition(x.partition);
        write.set_ns(k.ns);
        write.set_key(k.key);
        write.set_lww(how(st, k.ns) == storage::resolution::lww);
        storage::to_proto(merged, *write.mutable_merge());
        auto left = std::make_shared<size_t>(stale.size());
        auto err = std::make_shared<caf::error>();
        auto written = [self, gen, left, err, count = stale.size()]() {
          if (--*left > 0 || gen != self->state.generation) return;
          if (*err) return abandon(self, *err);
          auto& st = self->state;
          auto& x = *st.cur;
          x.repaired += count;
          st.stats[x.partition].repaired += count;
          st.repaired += count;
          st.repaired_this_sweep += count;
          if (st.deps.metrics) st.deps.metrics->repair_keys.fetch_add(count);
          --x.in_flight;
          sync_next(self);
        };
        for (auto& to : stale)
          self->request(to, caf::infinite, write)
              .then([written](msg::ReplicaWriteReply&) { written(); },
                    [written, err](caf::error& e) {
                      if (!*err) *err = e;
                      written();
                    });
      });
}

void refill(ae_state& st) {
  auto now = steady::now();
  double rate = st.deps.cfg.anti_entropy_keys_per_second;
  st.tokens =
      std::min(rate, st.tokens + rate * std::chrono::duration<double>(now - st.refilled).count());
  st.refilled = now;
}

// Syncs the differing keys, `keys_in_flight` at a time, within the rate.
void sync_next(ae_pointer self) {
  auto& st = self->state;
  auto& x = *st.cur;
  refill(st);
  while (x.in_flight < keys_in_flight && x.next_key < x.keys.size()) {
    if (st.tokens < 1) {  // one wake-up, when the next token is there
      if (!st.resume_queued) {
        st.resume_queued = true;
        auto wait = std::chrono::duration<double>((1 - st.tokens) /
                                                  st.deps.cfg.anti_entropy_keys_per_second);
        self->delayed_send(self, std::chrono::duration_cast<caf::timespan>(wait) + 1ms,
                           resume_atom::value);
      }
      return;
    }
    st.tokens -= 1;
    sync_key(self, x.keys[x.next_key++]);
  }
  if (x.in_flight == 0 && x.next_key == x.keys.size()) peer_done(self, caf::none);
}

// Keys scanned by a bucket listing that cost one repair token: a listing reads the partition
// in pages (actors/replica.cpp), and the pages are paced like the repairs.
constexpr uint64_t scanned_per_token = 64;

void list_page(ae_pointer self, int side);

// Both sides listed the differing buckets: the keys whose digests differ are synced.
void listed(ae_pointer self) {
  auto& st = self->state;
  auto& x = *st.cur;
  auto& local = x.listing[0].keys;
  for (auto& [k, digest] : x.listing[1].keys) {
    auto i = local.find(k);
    if (i == local.end() || i->second != digest) x.keys.push_back({k.first, k.second});
    if (i != local.end()) local.erase(i);
  }
  for (auto& [k, digest] : local) x.keys.push_back({k.first, k.second});
  x.differences = x.keys.size();
  x.syncing = true;
  sync_next(self);
}

// One page of one side's listing came back; the next one goes once the rate allows.
void page_listed(ae_pointer self, int side, msg::TreeReply& reply) {
  auto& st = self->state;
  auto& x = *st.cur;
  auto& l = x.listing[side];
  st.keys_listed += reply.keys_size();
  for (auto& k : reply.keys()) l.keys[{k.ns(), k.key()}] = k.digest();
  refill(st);
  st.tokens -= static_cast<double>(reply.keys_scanned()) / scanned_per_token;
  l.after = reply.next();
  l.done = reply.next().empty();
  if (!l.done) return list_page(self, side);
  if (x.listing[0].done && x.listing[1].done) listed(self);
}

// Asks one side for the next page of its listing of x.buckets, when the rate allows.
void list_page(ae_pointer self, int side) {
  auto& st = self->state;
  auto& x = *st.cur;
  refill(st);
  if (st.tokens < 0) {  // the pages so far used up the rate: go on when it is back
    if (!st.resume_queued) {
      st.resume_queued = true;
      auto wait =
          std::chrono::duration<double>(-st.tokens / st.deps.cfg.anti_entropy_keys_per_second);
      self->delayed_send(self, std::chrono::duration_cast<caf::timespan>(wait) + 1ms,
                         resume_atom::value);
    }
    x.paused.push_back({side, st.generation});
    return;
  }
  msg::TreeRequest req;
  req.set_partition(x.partition);
  for (auto b : x.buckets) req.add_buckets(b);
  req.set_after(x.listing[side].after);
  auto gen = st.generation;
  self->request(side == 0 ? x.local : x.remote, caf::infinite, std::move(req))
      .then(
          [self, side, gen](msg::TreeReply& reply) {
            if (gen == self->state.generation) page_listed(self, side, reply);
          },
          [self, gen](caf::error& err) {
            if (gen == self->state.generation) abandon(self, err);
          });
}

// The keys of the differing buckets, with digests, from both sides, page by page.
void list_keys(ae_pointer self, std::vector<uint32_t> buckets) {
  auto& x = *self->state.cur;
  x.buckets = std::move(buckets);
  for (int side = 0; side < 2; ++side) x.listing[side] = {};
  list_page(self, 0);
  list_page(self, 1);
}

// Listings that waited for the rate go on, unless their exchange was abandoned meanwhile.
void resume_listings(ae_pointer self) {
  auto& st = self->state;
  if (!st.cur) return;
  auto paused = std::move(st.cur->paused);
  st.cur->paused.clear();
  for (auto [side, gen] : paused)
    if (gen == st.generation) list_page(self, side);
}

// Compares the nodes `x.indexes` of `x.level`, and goes down where they differ.
void descend(ae_pointer self) {
  auto& x = *self->state.cur;
  msg::TreeRequest req;
  req.set_partition(x.partition);
  req.set_level(x.level);
  for (auto i : x.indexes) req.add_indexes(i);
  ask_both<msg::TreeReply>(self, req, [self](msg::TreeReply& a, msg::TreeReply& b) {
    auto& st = self->state;
    auto& x = *st.cur;
    if (a.leaves() != b.leaves() || a.hashes_size() != b.hashes_size() ||
        a.hashes_size() != static_cast<int>(x.indexes.size()))
      return abandon(self, make_error(errc::internal, "trees of different shapes (merkle_leaves " +
                                                          std::to_string(a.leaves()) + " here, " +
                                                          std::to_string(b.leaves()) + " there)"));
    st.hashes_compared += x.indexes.size();
    std::vector<uint32_t> differing;
    for (size_t i = 0; i < x.indexes.size(); ++i)
      if (a.hashes(static_cast<int>(i)) != b.hashes(static_cast<int>(i)))
        differing.push_back(x.indexes[i]);
    if (differing.empty()) return peer_done(self, caf::none);
    uint32_t depth = 0;
    while ((1u << depth) < a.leaves()) ++depth;
    if (x.level == depth) return list_keys(self, std::move(differing));
    ++x.level;
    x.indexes.clear();
    for (auto i : differing) {
      x.indexes.push_back(2 * i);
      x.indexes.push_back(2 * i + 1);
    }
    descend(self);
  });
}

// Starts the exchange with the next peer of the partition, or ends the partition.
void next_peer(ae_pointer self) {
  auto& st = self->state;
  auto& x = *st.cur;
  auto snap = st.deps.view->current();
  while (!x.peers.empty()) {
    x.peer = x.peers.back();
    x.peers.pop_back();
    auto m = snap->ring->index_of(x.peer);
    if (!m || !snap->peers[*m].up) {
      x.failed = true;
      st.stats[x.partition].last_error = x.peer + ": unreachable";
      continue;
    }
    x.remote = caf::actor_cast<replica_api>(snap->peers[*m].link);
    x.level = 0;
    x.indexes = {0};
    x.keys.clear();
    x.syncing = false;
    x.next_key = 0;
    x.in_flight = 0;
    x.differences = 0;
    x.repaired = 0;
    ++st.generation;
    return descend(self);
  }
  partition_done(self);
}

// -- choosing partitions --------------------------------------------------------------------------

// The next partition to exchange: an urgent one, then a marked one, else the sweep's next held
// one when its time has come. nullopt: nothing now.
std::optional<uint32_t> next_partition(ae_state& st, const cluster_snapshot& snap) {
  auto now = steady::now();
  auto due = [&](uint32_t p) {
    auto i = st.retry_at.find(p);
    return i == st.retry_at.end() || i->second <= now;
  };
  for (auto i = st.urgent.begin(); i != st.urgent.end();) {
    if (!holds(st, snap, *i)) {
      i = st.urgent.erase(i);  // not ours (any more): its holders exchange it
      continue;
    }
    if (due(*i)) return *i;
    ++i;
  }
  for (auto p : st.marked)
    if (due(p)) return p;
  if (now < st.next_at) return std::nullopt;
  uint32_t held = 0;
  for (uint32_t p = 0; p < st.deps.cfg.partitions; ++p) held += holds(st, snap, p) ? 1 : 0;
  if (held == 0) return std::nullopt;
  st.next_at = now + st.deps.cfg.anti_entropy_sweep / held;
  for (uint32_t tried = 0; tried < st.deps.cfg.partitions; ++tried) {
    auto p = st.cursor;
    st.cursor = (st.cursor + 1) % st.deps.cfg.partitions;
    if (st.cursor == 0) {
      ++st.sweeps;
      st.repaired_per_sweep.push_back(st.repaired_this_sweep);
      if (st.repaired_per_sweep.size() > sweeps_kept) st.repaired_per_sweep.pop_front();
      st.repaired_this_sweep = 0;
    }
    if (holds(st, snap, p)) return p;
  }
  return std::nullopt;
}

void step(ae_pointer self) {
  auto& st = self->state;
  if (st.cur) return;
  auto snap = st.deps.view->current();
  if (!snap->complete || snap->self == cluster_snapshot::no_member) return;
  auto p = next_partition(st, *snap);
  if (!p) {
    // The sweep's next partition is due before the next tick: step then.
    auto wait = st.next_at - steady::now();
    if (!st.step_queued && wait > steady::duration::zero() && wait < tick_interval) {
      st.step_queued = true;
      self->delayed_send(self, wait, step_atom::value);
    }
    return;
  }
  exchange x;
  x.partition = *p;
  x.mark = read_mark(st, *p);
  auto list = snap->ring->preference_list(*p, st.n);
  auto& cfg = st.deps.cfg;
  if (holds(st, *snap, *p)) {
    x.local = replica_of(*snap, *st.deps.reg, snap->self, *p, cfg.replica_actors);
    for (auto m : list)
      if (m != snap->self) x.peers.push_back(snap->member(m).id);
  } else if (!list.empty()) {
    // Marked here, held elsewhere (this node was a fallback and dropped hints of it): its
    // first holder exchanges with each of the others, driven from here.
    x.local = replica_of(*snap, *st.deps.reg, list.front(), *p, cfg.replica_actors);
    for (size_t i = 1; i < list.size(); ++i) x.peers.push_back(snap->member(list[i]).id);
  }
  if (!x.local) {  // restarting, or the first holder is unreachable: later
    st.retry_at[*p] = steady::now() + retry_after;
    return;
  }
  st.cur = std::move(x);
  next_peer(self);
}

// A member that was unreachable is back: the partitions shared with it go first.
void watch_rejoins(ae_state& st, const cluster_snapshot& snap) {
  if (snap.self == cluster_snapshot::no_member) return;
  for (uint32_t m = 0; m < snap.peers.size(); ++m) {
    if (m == snap.self) continue;
    auto& id = snap.member(m).id;
    auto up = snap.peers[m].up;
    auto i = st.was_up.find(id);
    bool back = up && i != st.was_up.end() && !i->second;
    st.was_up[id] = up;
    if (!back) continue;
    uint32_t shared = 0;
    for (uint32_t p = 0; p < st.deps.cfg.partitions; ++p) {
      if (!holds(st, snap, p) || !cluster::holds(*snap.ring, p, st.n, id)) continue;
      st.urgent.insert(p);
      ++shared;
    }
    st.log->info("MemberBack member={} partitions={}: exchanged first", id, shared);
  }
}

msg::RepairStatusReply describe_repairs(const ae_state& st) {
  msg::RepairStatusReply reply;
  auto snap = st.deps.view->current();
  for (uint32_t p = 0; snap->ring && p < st.deps.cfg.partitions; ++p) {
    if (!holds(st, *snap, p)) continue;
    auto& r = *reply.add_partitions();
    r.set_partition(p);
    r.set_urgent(st.urgent.count(p) > 0 || st.marked.count(p) > 0);
    auto i = st.stats.find(p);
    if (i == st.stats.end()) continue;
    r.set_last_exchange_ms(i->second.last_ms);
    r.set_exchanges(i->second.exchanges);
    r.set_differences(i->second.differences);
    r.set_repaired(i->second.repaired);
    r.set_last_differences(i->second.last_differences);
    r.set_last_error(i->second.last_error);
  }
  reply.set_exchanges(st.exchanges);
  reply.set_differences(st.differences);
  reply.set_repaired(st.repaired);
  reply.set_hashes_compared(st.hashes_compared);
  reply.set_keys_listed(st.keys_listed);
  reply.set_urgent(static_cast<uint32_t>(st.urgent.size() + st.marked.size()));
  reply.set_marked(static_cast<uint32_t>(st.marked.size()));
  reply.set_sweeps(st.sweeps);
  for (auto n : st.repaired_per_sweep) reply.add_repaired_per_sweep(n);
  reply.set_sweep_ms(static_cast<uint32_t>(st.deps.cfg.anti_entropy_sweep.count()));
  return reply;
}

anti_entropy_actor::behavior_type anti_entropy(ae_pointer self, supervisor_deps deps) {
  shield(self, "anti_entropy");
  auto& st = self->state;
  st.deps = std::move(deps);
  st.n = max_replicas(st.deps.cfg);
  if (!st.deps.cfg.anti_entropy) {
    st.log->warn("AntiEntropyOff: replicas converge only by read repair and hints");
    return {
        [](tick_atom) {},
        [](step_atom) {},
        [](urgent_atom, uint32_t) {},
        [](resume_atom) {},
        [self](const msg::RepairStatusRequest&) { return describe_repairs(self->state); },
    };
  }
  load_marks(st);
  // A node that starts may have missed anything while it was away: every partition it holds
  // goes first. (Its trees are built on the first exchange.)
  for (uint32_t p = 0; p < st.deps.cfg.partitions; ++p) st.urgent.insert(p);
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        auto& st = self->state;
        auto snap = st.deps.view->current();
        if (snap->ring) watch_rejoins(st, *snap);
        step(self);
        self->delayed_send(self, tick_interval, tick_atom::value);
      },
      [self](step_atom) {
        self->state.step_queued = false;
        step(self);
      },
      [self](urgent_atom, uint32_t partition) {
        if (partition < self->state.deps.cfg.partitions) self->state.marked.insert(partition);
      },
      [self](resume_atom) {
        self->state.resume_queued = false;
        resume_listings(self);
        if (self->state.cur && self->state.cur->syncing) sync_next(self);
      },
      [self](const msg::RepairStatusRequest&) { return describe_repairs(self->state); },
  };
}

}  // namespace

anti_entropy_actor spawn_anti_entropy(caf::local_actor* parent, supervisor_deps deps) {
  return parent->spawn(anti_entropy, std::move(deps));
}

}  // namespace kv::actors
