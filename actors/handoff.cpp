#include "actors/handoff.hpp"

#include <deque>
#include <set>

#include "actors/gossip.hpp"
#include "actors/net/shield.hpp"
#include "actors/node/log.hpp"
#include "actors/node/registry.hpp"
#include "actors/replica.hpp"
#include "caf/all.hpp"
#include "cluster/handoff.hpp"
#include "messages/errc.hpp"
#include "messages/storage.pb.h"
#include "storage/engine.hpp"
#include "storage/keys.hpp"

namespace kv::actors {
namespace {

using steady = std::chrono::steady_clock;

constexpr const char* state_key = "handoff";
constexpr auto tick_interval = std::chrono::milliseconds{250};
constexpr auto retry_after = std::chrono::milliseconds{1000};
constexpr auto orphan_check_every = std::chrono::seconds{5};

// One partition to send to one new holder.
struct work {
  uint32_t partition = 0;
  std::string target;
  uint32_t pass = 1;
  std::string cursor;  // the next key to send; empty: from the partition's start
  steady::time_point not_before{};
  uint64_t keys_sent = 0;  // this pass
};

struct handoff_state {
  handoff_deps deps;
  uint32_t n = 1;  // the longest preference list of any namespace
  bool have_base = false;
  std::vector<cluster::member_spec> base;
  std::deque<work> transfers;
  std::set<uint32_t> drops;
  bool sending = false;   // a batch of transfers.front() is in flight
  bool dropping = false;  // a drop is in flight
  bool stopping = false;
  steady::time_point orphans_checked{};
  // Progress, since the process started.
  uint32_t planned = 0;
  uint32_t done = 0;
  uint64_t keys_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t keys_dropped = 0;
  std::deque<std::pair<steady::time_point, uint64_t>> rate;  // (when, keys_sent) samples
  std::shared_ptr<spdlog::logger> log = log::get("handoff");

  static inline const char* name = "handoff";
};

using handoff_pointer = handoff_actor::stateful_pointer<handoff_state>;

// -- what survives a restart ----------------------------------------------------------------------

void store(handoff_state& st) {
  msg::HandoffState s;
  for (auto& m : st.base) {
    auto& row = *s.add_base();
    row.set_id(m.id);
    row.set_rack(m.rack);
    row.set_datacenter(m.datacenter);
    row.set_weight(m.weight);
  }
  for (auto& w : st.transfers) {
    auto& t = *s.add_transfers();
    t.set_partition(w.partition);
    t.set_target(w.target);
    t.set_pass(w.pass);
  }
  for (auto p : st.drops) s.add_drops(p);
  storage::write_batch batch;
  batch.put(storage::column::meta, state_key, s.SerializeAsString());
  if (auto err = st.deps.db->write(batch, true))
    st.log->warn("HandoffStateNotStored err=\"{}\"", describe(err));  // kept in memory
}

void load(handoff_state& st) {
  auto stored = st.deps.db->get(storage::column::meta, state_key);
  if (!stored || !*stored) return;
  msg::HandoffState s;
  if (!s.ParseFromString(**stored)) {
    st.log->warn("HandoffStateUnreadable key={}", state_key);
    return;
  }
  st.have_base = s.base_size() > 0;
  for (auto& m : s.base()) st.base.push_back({m.id(), m.rack(), m.datacenter(), m.weight()});
  for (auto& t : s.transfers()) {
    work w;
    w.partition = t.partition();
    w.target = t.target();
    w.pass = t.pass() == 2 ? 2 : 1;
    st.transfers.push_back(std::move(w));
  }
  st.drops.insert(s.drops().begin(), s.drops().end());
  if (!st.transfers.empty() || !st.drops.empty())
    st.log->info("HandoffResumed transfers={} drops={}", st.transfers.size(), st.drops.size());
}

// -- planning -------------------------------------------------------------------------------------

bool has_data(const handoff_state& st, uint32_t partition) {
  bool found = false;
  auto range = storage::partition_range(partition);
  static_cast<void>(st.deps.db->scan(storage::column::data, range.first, range.last,
                                     [&](std::string_view, std::string_view) {
                                       found = true;
                                       return false;
                                     }));  // ignored: an unreadable partition is not adopted
  return found;
}

// Data of a partition this node does not hold and was not told to drop (it arrived from a
// transfer that a later change cancelled, say) goes to every holder, then is dropped.
void adopt_orphans(handoff_state& st, const cluster::ring& now) {
  const auto& self_id = st.deps.cfg.node_id;
  for (uint32_t p = 0; p < now.partitions(); ++p) {
    if (st.drops.count(p) || cluster::holds(now, p, st.n, self_id) || !has_data(st, p)) continue;
    for (auto m : now.preference_list(p, st.n)) {
      work w;
      w.partition = p;
      w.target = now.members()[m].id;
      st.transfers.push_back(std::move(w));
      ++st.planned;
    }
    st.drops.insert(p);
    st.log->info("OrphanAdopted partition={}: sent to its holders, then dropped", p);
  }
}

// The stored base cannot be placed (a damaged disk): no change can be planned from it. `now`
// becomes the base, and the data this node holds but does not own goes out as orphans.
void rebase(handoff_state& st, const cluster::ring& now, const caf::error& err) {
  st.log->error("HandoffBaseUnplaceable err=\"{}\" (orphans are sent to the current holders)",
                describe(err));
  st.base = now.members();
  adopt_orphans(st, now);
  store(st);
}

// Placement changed from the base to `now`: adds what the change asks of this node.
void plan(handoff_pointer self, const cluster_snapshot& now) {
  auto& st = self->state;
  const auto& self_id = st.deps.cfg.node_id;
  auto before = cluster::ring::make(st.base, ring_options_of(st.deps.cfg));
  if (!before) return rebase(st, *now.ring, before.error());
  auto p = cluster::plan_handoff(*before, *now.ring, st.n, self_id);
  for (auto& t : p.sends) {
    bool known = false;
    for (auto& w : st.transfers)
      known = known || (w.partition == t.partition && w.target == t.target);
    if (known) continue;
    work w;
    w.partition = t.partition;
    w.target = t.target;
    st.transfers.push_back(std::move(w));
    ++st.planned;
  }
  st.drops.insert(p.drops.begin(), p.drops.end());
  adopt_orphans(st, *now.ring);
  // What an earlier change asked and this one undid: a target that no longer holds the
  // partition needs nothing, a partition held again must stay.
  for (auto i = st.transfers.begin(); i != st.transfers.end();) {
    bool wanted = cluster::holds(*now.ring, i->partition, st.n, i->target) ||
                  (st.sending && i == st.transfers.begin());  // its batch is in flight
    i = wanted ? std::next(i) : st.transfers.erase(i);
  }
  for (auto i = st.drops.begin(); i != st.drops.end();)
    i = cluster::holds(*now.ring, *i, st.n, self_id) ? st.drops.erase(i) : std::next(i);
  st.base = now.ring->members();
  st.log->info("HandoffPlanned members={} sends={} drops={} pending_transfers={} pending_drops={}",
               st.base.size(), p.sends.size(), p.drops.size(), st.transfers.size(),
               st.drops.size());
  store(st);
}

// -- sending --------------------------------------------------------------------------------------

struct batch_item {
  msg::ReplicaWriteRequest req;
  std::string key;  // stored key, for the cursor
};

// The next batch of the front transfer, read from this node's data from its cursor on.
caf::expected<std::vector<batch_item>> read_batch(handoff_state& st, const work& w) {
  std::vector<batch_item> items;
  auto range = storage::partition_range(w.partition);
  auto first = w.cursor.empty() ? range.first : w.cursor;
  auto err = st.deps.db->scan(
      storage::column::data, first, range.last, [&](std::string_view key, std::string_view value) {
        auto parts = storage::parse_data_key(key);
        msg::StoredObject stored;
        if (!parts || !stored.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          st.log->error("HandoffSkippedDamagedKey partition={} bytes={}", w.partition, key.size());
          return true;  // damage on this disk: anti-entropy's business, not the transfer's
        }
        batch_item item;
        item.req.set_partition(w.partition);
        item.req.set_lww(namespace_settings(st.deps.cfg, std::string{parts->ns}).lww);
        item.req.set_ns(std::string{parts->ns});
        item.req.set_key(std::string{parts->key});
        *item.req.mutable_merge() = std::move(*stored.mutable_object());
        item.key = std::string{key};
        items.push_back(std::move(item));
        return items.size() < st.deps.cfg.handoff_batch_keys;
      });
  if (err) return err;
  return items;
}

// The front transfer's pass is complete: the second pass follows after the settle time; after
// the second the transfer is done.
void pass_done(handoff_pointer self) {
  auto& st = self->state;
  auto& w = st.transfers.front();
  st.log->info("TransferPassDone partition={} target={} pass={} keys={}", w.partition, w.target,
               w.pass, w.keys_sent);
  if (w.pass == 1) {
    w.pass = 2;
    w.cursor.clear();
    w.keys_sent = 0;
    w.not_before = steady::now() + st.deps.cfg.handoff_settle;
    st.transfers.push_back(std::move(w));  // others go first meanwhile
    st.transfers.pop_front();
  } else {
    st.transfers.pop_front();
    ++st.done;
  }
  store(st);
}

// Sends the next batch of the front transfer to `link`; `step` again once all are answered.
void send_batch(handoff_pointer self, const peer_link_actor& link) {
  auto& st = self->state;
  auto& w = st.transfers.front();
  auto items = read_batch(st, w);
  if (!items) {
    st.log->error("HandoffReadFailed partition={} err=\"{}\"", w.partition,
                  describe(items.error()));
    w.not_before = steady::now() + retry_after;
    return;
  }
  if (items->empty()) {
    pass_done(self);
    self->send(self, step_atom::value);
    return;
  }
  st.sending = true;
  auto left = std::make_shared<size_t>(items->size());
  auto failed = std::make_shared<caf::error>();
  auto next_cursor = items->back().key + std::string(1, '\0');
  auto full = items->size() == st.deps.cfg.handoff_batch_keys;
  uint64_t bytes = 0;
  for (auto& item : *items) bytes += item.req.ByteSizeLong();
  auto finish = [self, left, failed, next_cursor, full, bytes, count = items->size()] {
    if (--*left > 0) return;
    auto& st = self->state;
    st.sending = false;
    if (st.transfers.empty()) return;
    auto& w = st.transfers.front();
    if (*failed) {
      st.log->warn("TransferInterrupted partition={} target={} pass={} err=\"{}\"", w.partition,
                   w.target, w.pass, describe(*failed));
      w.not_before = steady::now() + retry_after;
    } else {
      w.cursor = next_cursor;
      w.keys_sent += count;
      st.keys_sent += count;
      st.bytes_sent += bytes;
      if (!full) pass_done(self);
    }
    self->send(self, step_atom::value);
  };
  for (auto& item : *items)
    self->request(link, caf::infinite, std::move(item.req))
        .then([finish](msg::ReplicaWriteReply&) mutable { finish(); },
              [finish, failed](caf::error& err) mutable {
                if (!*failed) *failed = err;
                finish();
              });
}

// The link to `target`, if it is up in the view now.
peer_link_actor link_to(const cluster_snapshot& snap, const std::string& target) {
  auto i = snap.ring->index_of(target);
  if (!i || *i == snap.self || !snap.peers[*i].up) return {};
  return snap.peers[*i].link;
}

// Deletes one partition this node no longer holds whose transfers are all confirmed.
void drop_next(handoff_pointer self, const cluster_snapshot& snap) {
  auto& st = self->state;
  for (auto p : st.drops) {
    bool sending = false;
    for (auto& w : st.transfers) sending = sending || w.partition == p;
    if (sending || cluster::holds(*snap.ring, p, st.n, st.deps.cfg.node_id)) continue;
    auto role = replica_role(replica_index(p, st.deps.cfg.partitions, st.deps.cfg.replica_actors));
    auto replica = st.deps.reg->get_as<replica_actor>(role);
    if (!replica) return;
    st.dropping = true;
    msg::DropPartitionRequest req;
    req.set_partition(p);
    self->request(replica, caf::infinite, std::move(req))
        .then(
            [self, p](msg::DropPartitionReply& reply) {
              auto& st = self->state;
              st.dropping = false;
              st.drops.erase(p);
              st.keys_dropped += reply.keys();
              st.log->info("PartitionDropped partition={} keys={}", p, reply.keys());
              store(st);
              self->send(self, step_atom::value);
            },
            [self, p](caf::error& err) {
              self->state.dropping = false;
              self->state.log->warn("PartitionDropFailed partition={} err=\"{}\"", p,
                                    describe(err));
            });
    return;
  }
}

void step(handoff_pointer self) {
  auto& st = self->state;
  auto snap = st.deps.view->current();
  if (!snap->complete || st.stopping) return;
  if (!st.have_base) {  // a new node: its data (none) is laid out for the ring it joins
    st.have_base = true;
    st.base = snap->ring->members();
    adopt_orphans(st, *snap->ring);
    store(st);
    return;
  }
  if (cluster::placement_signature(snap->ring->members()) != cluster::placement_signature(st.base))
    plan(self, *snap);
  auto now = steady::now();
  if (!st.sending) {  // a transfer whose target no longer holds its partition stops here
    for (auto i = st.transfers.begin(); i != st.transfers.end();) {
      if (cluster::holds(*snap->ring, i->partition, st.n, i->target)) {
        ++i;
        continue;
      }
      st.log->info("TransferCancelled partition={} target={} (it no longer holds it)", i->partition,
                   i->target);
      i = st.transfers.erase(i);
      store(st);
    }
  }
  if (!st.sending && !st.transfers.empty()) {
    // The first transfer that may go now, to a target that is up, goes to the front.
    for (size_t i = 0; i < st.transfers.size(); ++i) {
      auto& w = st.transfers[i];
      if (w.not_before > now || !link_to(*snap, w.target)) continue;
      if (i > 0) std::swap(st.transfers[0], st.transfers[i]);
      auto& front = st.transfers.front();
      if (front.cursor.empty() && front.keys_sent == 0)
        st.log->info("TransferStarted partition={} target={} pass={}", front.partition,
                     front.target, front.pass);
      send_batch(self, link_to(*snap, front.target));
      break;
    }
  }
  if (st.transfers.empty() && st.drops.empty() && now - st.orphans_checked >= orphan_check_every) {
    st.orphans_checked = now;  // strays from transfers that a later change cancelled
    adopt_orphans(st, *snap->ring);
    if (!st.drops.empty()) store(st);
  }
  if (!st.dropping) drop_next(self, *snap);
  if (snap->leaving && st.transfers.empty() && st.drops.empty() && !st.sending && !st.dropping) {
    st.stopping = true;
    st.log->warn("LeaveComplete keys_sent={} keys_dropped={}: stopping", st.keys_sent,
                 st.keys_dropped);
    self->send_exit(st.deps.supervisor, caf::exit_reason::user_shutdown);
  }
}

// Keys sent so far, once a tick, for the rate over the last few seconds.
void sample_rate(handoff_state& st) {
  auto now = steady::now();
  st.rate.emplace_back(now, st.keys_sent);
  while (st.rate.size() > 1 && now - st.rate.front().first > std::chrono::seconds{5})
    st.rate.pop_front();
}

msg::TransfersReply describe_transfers(const handoff_state& st) {
  msg::TransfersReply reply;
  for (size_t i = 0; i < st.transfers.size(); ++i) {
    auto& w = st.transfers[i];
    auto& t = *reply.add_transfers();
    t.set_partition(w.partition);
    t.set_target(w.target);
    t.set_pass(w.pass);
    t.set_active(i == 0 && st.sending);
    t.set_keys_sent(w.keys_sent);
  }
  reply.set_planned(st.planned);
  reply.set_done(st.done);
  reply.set_keys_sent(st.keys_sent);
  reply.set_bytes_sent(st.bytes_sent);
  reply.set_drops_pending(static_cast<uint32_t>(st.drops.size()));
  reply.set_keys_dropped(st.keys_dropped);
  if (st.rate.empty()) return reply;
  auto span = std::chrono::duration<double>(steady::now() - st.rate.front().first).count();
  if (span > 0.5) reply.set_keys_per_second((st.keys_sent - st.rate.front().second) / span);
  return reply;
}

handoff_actor::behavior_type handoff(handoff_pointer self, handoff_deps deps) {
  shield(self, "handoff");
  auto& st = self->state;
  st.deps = std::move(deps);
  st.n = max_replicas(st.deps.cfg);
  load(st);
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        sample_rate(self->state);
        step(self);
        self->delayed_send(self, tick_interval, tick_atom::value);
      },
      [self](step_atom) { step(self); },
      [self](const msg::TransfersRequest&) { return describe_transfers(self->state); },
  };
}

}  // namespace

handoff_actor spawn_handoff(caf::local_actor* parent, handoff_deps deps) {
  return parent->spawn(handoff, std::move(deps));
}

}  // namespace kv::actors
