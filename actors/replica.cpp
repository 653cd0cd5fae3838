#include "actors/replica.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/net/shield.hpp"
#include "actors/node/log.hpp"
#include "actors/node/registry.hpp"
#include "caf/all.hpp"
#include "messages/errc.hpp"
#include "messages/storage.pb.h"
#include "storage/codec.hpp"
#include "storage/dot_issuer.hpp"
#include "storage/engine.hpp"
#include "storage/keys.hpp"
#include "storage/merkle_tree.hpp"

namespace kv::actors {
namespace {

using write_promise = caf::typed_response_promise<msg::ReplicaWriteReply>;

// Keys a bucket listing reads per call (actors/anti_entropy.cpp pages through the rest).
constexpr uint64_t tree_page_keys = 1024;

// Writes staged for the next commit, waiting for their acknowledgement. Shared with the exit
// functor so that a replica that dies fails them instead of leaving their requesters waiting.
struct staged {
  storage::object object;  // empty: erased
  uint64_t digest = 0;     // of the staged bytes (merkle_tree::digest); 0: erased
  size_t bytes = 0;        // stored size
};

// Hints staged for one owner: what the hint store is told once they are committed.
struct staged_hints {
  uint64_t count = 0;
  uint64_t bytes = 0;
  int64_t oldest_ms = 0;
};

struct round {
  storage::write_batch batch;
  std::unordered_map<std::string, staged> objects;  // staged state, by storage key
  std::map<std::string, staged_hints> hints;        // by owner
  std::vector<std::pair<write_promise, msg::ReplicaWriteReply>> waiting;
  bool commit_queued = false;
  bool durable = false;  // a write asked for a synced commit

  void reset() {
    batch.clear();
    objects.clear();
    hints.clear();
    waiting.clear();
    commit_queued = false;
    durable = false;
  }
};

// Writes committed without the sync they need, answered once the syncer has synced the WAL
// (replica_config::offload_syncs): by round id, in the order they were committed.
struct syncing_round {
  std::vector<std::pair<write_promise, msg::ReplicaWriteReply>> waiting;
  std::map<std::string, staged_hints> hints;
};
using syncing_rounds = std::map<uint64_t, syncing_round>;

using sync_atom = caf::atom_constant<caf::atom("sync")>;

// The syncer: fsyncs the WAL when asked, on a thread of its own.
caf::behavior wal_syncer(caf::event_based_actor*, std::shared_ptr<storage::engine> db) {
  return {
      [db](sync_atom) -> caf::result<bool> {
        if (auto err = db->sync_wal()) return err;
        return true;
      },
  };
}

struct replica_state {
  replica_config cfg;
  std::shared_ptr<storage::engine> db;
  std::shared_ptr<round> pending = std::make_shared<round>();
  std::shared_ptr<syncing_rounds> syncing = std::make_shared<syncing_rounds>();
  uint64_t next_sync = 1;       // the id of the next round handed to the syncer
  bool sync_in_flight = false;  // the syncer was asked and has not answered yet
  caf::actor syncer;            // spawned on first use
  // Merkle trees of the partitions anti-entropy asked about, current with every staged write.
  std::unordered_map<uint32_t, storage::merkle_tree> trees;
  std::shared_ptr<spdlog::logger> log = log::get("replica");

  static inline const char* name = "replica";
};

using replica_pointer = replica_actor::stateful_pointer<replica_state>;

caf::error check_partition(const replica_config& cfg, uint32_t partition) {
  if (partition < cfg.first_partition || partition >= cfg.last_partition)
    return make_error(errc::internal, "partition " + std::to_string(partition) +
                                          " is not held by " + replica_role(cfg.index));
  return caf::none;
}

// Keys come from peers too: bounded as no configuration's client limits would let one through.
caf::error check_key(const replica_config& cfg, uint32_t partition, const std::string& ns,
                     const std::string& key) {
  if (auto err = check_partition(cfg, partition)) return err;
  if (ns.empty() || ns.size() > storage::max_namespace_bytes)
    return make_error(errc::invalid_argument, "bad namespace length");
  if (key.empty() || key.size() > storage::max_user_key_bytes)
    return make_error(errc::invalid_argument, "bad key length " + std::to_string(key.size()));
  return caf::none;
}

// A stored object that does not decode is damage on this node's disk, not bad input.
caf::expected<storage::object> decode_stored(const std::string& bytes) {
  auto obj = storage::decode_object(bytes);
  if (!obj) return make_error(errc::internal, "corrupt stored object: " + message_of(obj.error()));
  return obj;
}

// The committed object of `key`, or nullopt; `about` (if given) receives the digest and size
// of its stored bytes, 0 when absent.
caf::expected<std::optional<storage::object>> read_committed(const replica_state& st,
                                                             const std::string& key,
                                                             staged* about = nullptr) {
  auto stored = st.db->get(storage::column::data, key);
  if (!stored) return stored.error();
  if (about && *stored) {
    about->digest = storage::merkle_tree::digest(key, **stored);
    about->bytes = (*stored)->size();
  }
  if (!*stored) return std::optional<storage::object>{};
  auto obj = decode_stored(**stored);
  if (!obj) return obj.error();
  return std::optional<storage::object>{std::move(*obj)};
}

// The current object of `key` (staged in this round, else committed, else empty) and its digest.
caf::expected<staged> load(replica_state& st, const std::string& key) {
  if (auto i = st.pending->objects.find(key); i != st.pending->objects.end()) return i->second;
  staged result;
  auto committed = read_committed(st, key, &result);
  if (!committed) return committed.error();
  if (*committed) result.object = std::move(**committed);
  return result;
}

// Stages `key` to hold `next` (empty: erased; `bytes` is its stored form) in place of
// `before`, and keeps its partition's tree current.
void stage(replica_state& st, uint32_t partition, const std::string& key, const staged& before,
           storage::object next, const std::string& bytes) {
  auto& r = *st.pending;
  staged after;
  if (next.empty()) {
    r.batch.erase(storage::column::data, key);
  } else {
    after.digest = storage::merkle_tree::digest(key, bytes);
    after.bytes = bytes.size();
    r.batch.put(storage::column::data, key, bytes);
  }
  after.object = std::move(next);
  if (auto t = st.trees.find(partition); t != st.trees.end())
    t->second.update(key, before.digest, after.digest);
  r.objects[key] = std::move(after);
}

// Every committed write makes the hint keys of this process unique: created ms + this counter,
// which starts at the clock in nanoseconds (a restart never reuses a pair).
uint64_t next_hint_unique() {
  static std::atomic<uint64_t> counter{
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count())};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

struct applied {
  storage::object object;
  msg::ReplicaWriteReply reply;
  bool changed = true;
};

// A client write at its coordinating replica: the new version gets its dot, and the object
// after the write and what the writer has now seen go back.
caf::error create(replica_state& st, const msg::NewVersion& create, const storage::object& current,
                  storage::resolution how, applied& result) {
  auto seen = storage::from_proto(create.context());
  if (!seen) return seen.error();
  auto id = st.cfg.issuer->issue(current);
  if (!id) return id.error();
  if (!id->retired.empty())
    st.log->warn(
        "IncarnationRenewed retired={} actor={} (a stored context claims dots {} never "
        "issued)",
        id->retired, id->id.actor, id->retired);
  storage::to_proto(id->id, *result.reply.mutable_dot());
  storage::sibling version{std::move(id->id), create.value(), create.deleted(),
                           create.timestamp_ms()};
  storage::write_rules rules{how, st.cfg.now_ms(), st.cfg.max_context_entries};
  auto written = storage::apply_write(current, *seen, std::move(version), rules);
  storage::to_proto(written.seen, *result.reply.mutable_seen());
  result.object = std::move(written.stored);
  return caf::none;
}

caf::expected<applied> apply(replica_state& st, const msg::ReplicaWriteRequest& req,
                             const storage::object& current) {
  auto how = req.lww() ? storage::resolution::lww : storage::resolution::causal;
  applied result;
  result.reply.set_replica(st.cfg.node_id);
  if (req.has_create()) {
    if (auto err = create(st, req.create(), current, how, result)) return err;
  } else if (req.has_merge()) {
    auto incoming = storage::from_proto(req.merge());
    if (!incoming) return incoming.error();
    result.object = storage::merge(current, *incoming, how);
    result.changed = result.object != current;
  } else {
    return make_error(errc::invalid_argument, "replica write without an operation");
  }
  // Only the coordinating replica's answer carries the object (the put FSM replicates it); a
  // merge is acknowledged without it, as nobody reads it (Riak's returnbody=false).
  if (req.has_create()) storage::to_proto(result.object, *result.reply.mutable_object());
  return result;
}

// A client write that would take the object past a bound of its namespace is refused before
// anything is staged or replicated, unless it leaves the object no larger than it was: a write
// that resolves siblings must always be possible, even on an object that grew past a bound
// through merges or before the bound was lowered. Repair paths (merges) are never refused.
caf::error check_bounds(const msg::ReplicaWriteRequest& req, const staged& before,
                        const storage::object& after, size_t after_bytes) {
  const auto& limits = req.create();
  auto count = after.siblings().size();
  auto grows_past = [](uint64_t now, uint64_t then, uint64_t limit) {
    return limit != 0 && now > limit && now > then;
  };
  std::string what;
  if (grows_past(after_bytes, before.bytes, limits.max_object_bytes()))
    what = "make the object " + std::to_string(after_bytes) + " bytes; namespace '" + req.ns() +
           "' allows " + std::to_string(limits.max_object_bytes()) + " (max_object_bytes)";
  else if (grows_past(count, before.object.siblings().size(), limits.max_siblings()))
    what = "give the object " + std::to_string(count) + " siblings; namespace '" + req.ns() +
           "' allows " + std::to_string(limits.max_siblings()) + " (max_siblings)";
  else
    return caf::none;
  return make_error(errc::too_large,
                    "the write would " + what +
                        ". Resolve the siblings with a write that carries the context of a read, "
                        "or delete the key");
}

// Queues the reply of a write staged in this round; it goes out once the round is committed.
caf::result<msg::ReplicaWriteReply> await_commit(replica_pointer self,
                                                 msg::ReplicaWriteReply reply) {
  auto& r = *self->state.pending;
  r.waiting.emplace_back(self->make_response_promise<msg::ReplicaWriteReply>(), std::move(reply));
  if (!r.commit_queued) {
    r.commit_queued = true;
    self->send(self, commit_atom::value);
  }
  return r.waiting.back().first;
}

// A fallback's write for the member `hint_for`: stored as a hint, not as data.
caf::result<msg::ReplicaWriteReply> store_hint(replica_pointer self,
                                               msg::ReplicaWriteRequest& req) {
  auto& st = self->state;
  if (!req.has_merge()) return make_error(errc::invalid_argument, "a hinted write must be a merge");
  if (req.hint_for().empty() || req.hint_for().size() > 255)
    return make_error(errc::invalid_argument, "bad hint owner length");
  if (auto err = st.db->check_space()) return err;  // the put FSM tries the next fallback
  auto created = std::max<int64_t>(0, st.cfg.now_ms());
  msg::HintRecord hint;
  hint.set_partition(req.partition());
  hint.set_ns(req.ns());
  hint.set_key(req.key());
  hint.set_lww(req.lww());
  *hint.mutable_object() = std::move(*req.mutable_merge());
  auto bytes = hint.SerializeAsString();
  auto key = storage::hint_key(req.hint_for(), created, next_hint_unique());
  auto& r = *st.pending;
  r.batch.put(storage::column::hints, key, bytes);
  auto& owner = r.hints[req.hint_for()];
  if (owner.count++ == 0) owner.oldest_ms = created;
  owner.bytes += key.size() + bytes.size();
  msg::ReplicaWriteReply reply;
  reply.set_replica(st.cfg.node_id);
  reply.set_hinted(true);
  return await_commit(self, std::move(reply));
}

// Deletes the key if it holds exactly `req.purge()`.
caf::result<msg::ReplicaWriteReply> purge(replica_pointer self, const msg::ReplicaWriteRequest& req,
                                          const std::string& key, const staged& current) {
  auto& st = self->state;
  auto expected = storage::from_proto(req.purge());
  if (!expected) return expected.error();
  msg::ReplicaWriteReply reply;
  reply.set_replica(st.cfg.node_id);
  if (current.object.empty() || current.object != *expected) {
    if (!current.object.empty()) storage::to_proto(current.object, *reply.mutable_object());
    return reply;  // it changed (or is gone): nothing to purge
  }
  stage(st, req.partition(), key, current, storage::object{}, {});
  reply.set_purged(true);
  return await_commit(self, std::move(reply));
}

caf::result<msg::ReplicaWriteReply> on_write(replica_pointer self, msg::ReplicaWriteRequest& req) {
  auto& st = self->state;
  if (auto err = check_key(st.cfg, req.partition(), req.ns(), req.key())) return err;
  if (!req.hint_for().empty()) return store_hint(self, req);
  if (req.durable()) st.pending->durable = true;
  auto key = storage::data_key(req.partition(), req.ns(), req.key());
  auto current = load(st, key);
  if (!current) return current.error();
  if (req.has_purge()) return purge(self, req, key, *current);
  auto result = apply(st, req, current->object);
  if (!result) return result.error();
  // An unchanged object needs no write, but if it stands on a staged write, the answer waits
  // for that write's commit: until then the state it vouches for is not durable.
  bool staged_before = st.pending->objects.count(key) != 0;
  if (!result->changed && !staged_before) return std::move(result->reply);
  if (result->changed) {
    auto bytes = result->object.empty() ? std::string{} : storage::encode_object(result->object);
    if (req.has_create())
      if (auto err = check_bounds(req, *current, result->object, bytes.size())) return err;
    if (auto err = st.db->check_space()) return err;
    stage(st, req.partition(), key, *current, std::move(result->object), bytes);
  }
  return await_commit(self, std::move(result->reply));
}

// Whether a failed commit must fail the replica: not when the engine refused it for want of
// disk space (UNAVAILABLE), a state it leaves by itself once space is freed. Failing the
// replica then would only restart it into the same full disk.
bool fatal(const caf::error& err) {
  return err && code_of(err) != errc::unavailable;
}

// Answers the writes of a committed round and tells the hint store of the hints it held.
template <class Waiting, class Hints>
void acknowledge(replica_pointer self, Waiting& waiting, const Hints& hints) {
  auto& st = self->state;
  for (auto& [promise, reply] : waiting) promise.deliver(std::move(reply));
  if (hints.empty() || !st.cfg.reg) return;
  if (auto store = st.cfg.reg->get_as<hint_store_actor>("hint_store"))
    for (auto& [owner, h] : hints)
      self->send(store, hints_atom::value, owner, h.count, h.bytes, h.oldest_ms);
}

void ask_sync(replica_pointer self);

// The syncer synced the WAL after round `upto` was committed: that round and every earlier one
// are durable, or in doubt with `err` (the engine then refuses every write, and the replica
// fails like on a failed commit). Rounds committed since wait for the next sync.
void synced(replica_pointer self, uint64_t upto, caf::error err) {
  auto& st = self->state;
  st.sync_in_flight = false;
  auto& rounds = *st.syncing;
  auto end = rounds.upper_bound(upto);
  for (auto i = rounds.begin(); i != end; ++i) {
    if (!err) {
      acknowledge(self, i->second.waiting, i->second.hints);
      continue;
    }
    st.log->error("SyncFailed replica={} writes={} err=\"{}\"", st.cfg.index,
                  i->second.waiting.size(), describe(err));
    for (auto& entry : i->second.waiting) entry.first.deliver(err);
  }
  rounds.erase(rounds.begin(), end);
  if (fatal(err)) return self->quit(std::move(err));
  if (!rounds.empty()) ask_sync(self);
}

// Asks the syncer for one sync covering every round committed so far (group commit for the
// syncs: rounds that come while it syncs share the next one).
void ask_sync(replica_pointer self) {
  auto& st = self->state;
  if (!st.syncer) {
    st.syncer = st.cfg.detached_syncer ? self->spawn<caf::detached + caf::linked>(wal_syncer, st.db)
                                       : self->spawn<caf::linked>(wal_syncer, st.db);
  }
  st.sync_in_flight = true;
  auto upto = st.next_sync - 1;
  self->request(st.syncer, caf::infinite, sync_atom::value)
      .then([self, upto](bool) { synced(self, upto, caf::none); },
            [self, upto](caf::error& err) { synced(self, upto, std::move(err)); });
}

// Hands the committed round's writes to the syncer; they are answered once it synced.
void sync_later(replica_pointer self, round& r) {
  auto& st = self->state;
  auto& later = (*st.syncing)[st.next_sync++];
  later.waiting = std::move(r.waiting);
  later.hints = std::move(r.hints);
  if (!st.sync_in_flight) ask_sync(self);
}

// Commits the round. A failed commit leaves the staged writes in doubt: they are answered
// with the error. INTERNAL (on disk or not, nobody knows): the caller fails the replica; the
// engine refuses writes from then on, so the supervisor takes the node down and its restart
// recovers from what the WAL holds. UNAVAILABLE (the disk is short): the replica goes on, and
// its Merkle trees, which took the staged digests, are rebuilt from disk when next asked for.
// A round that needs a sync on a replica that offloads them is answered once the syncer synced
// (`inline_sync`: here and now, as when the replica stops).
[[nodiscard]] caf::error commit(replica_pointer self, bool inline_sync = false) {
  auto& st = self->state;
  auto& r = *st.pending;
  if (r.waiting.empty()) {
    r.reset();
    return caf::none;
  }
  // A hint is acknowledged as durable whatever the node's sync mode: it may be the only copy
  // the intended replica will ever get.
  bool needs_sync = st.cfg.sync || r.durable || !r.hints.empty();
  bool later = needs_sync && st.cfg.offload_syncs && !inline_sync;
  auto err = st.db->write(r.batch, needs_sync && !later);
  if (fatal(err)) {
    st.log->error("CommitFailed replica={} writes={} err=\"{}\"", st.cfg.index, r.waiting.size(),
                  describe(err));
  } else if (err) {
    st.log->warn("CommitRefused replica={} writes={} err=\"{}\"", st.cfg.index, r.waiting.size(),
                 describe(err));
  }
  if (err) {
    for (auto& entry : r.waiting) entry.first.deliver(err);
    st.trees.clear();
  } else if (later) {
    sync_later(self, r);
  } else {
    acknowledge(self, r.waiting, r.hints);
  }
  r.reset();
  return err;
}

// The replica stops: what it committed and still owes a sync is synced here and answered.
void sync_owed(replica_pointer self) {
  auto& st = self->state;
  if (!st.syncing->empty()) synced(self, st.next_sync - 1, st.db->sync_wal());
}

caf::result<msg::ReplicaReadReply> on_read(replica_pointer self,
                                           const msg::ReplicaReadRequest& req) {
  auto& st = self->state;
  if (auto err = check_key(st.cfg, req.partition(), req.ns(), req.key())) return err;
  auto committed = read_committed(st, storage::data_key(req.partition(), req.ns(), req.key()));
  if (!committed) return committed.error();
  msg::ReplicaReadReply reply;
  reply.set_replica(st.cfg.node_id);
  if (*committed) storage::to_proto(**committed, *reply.mutable_object());
  return reply;
}

// Deletes every key of a partition this node no longer holds (handoff confirmed them all to
// their new holders), after committing what is staged; in batches of 1000.
caf::result<msg::DropPartitionReply> on_drop(replica_pointer self,
                                             const msg::DropPartitionRequest& req) {
  auto& st = self->state;
  if (auto err = check_partition(st.cfg, req.partition())) return err;
  if (auto err = commit(self)) {
    if (fatal(err)) self->quit(err);
    return err;
  }
  auto range = storage::partition_range(req.partition());
  uint64_t keys = 0;
  storage::write_batch batch;
  caf::error failed;
  auto flush = [&] {
    if (!batch.empty()) failed = st.db->write(batch, st.cfg.sync);
    batch.clear();
    return !failed;
  };
  auto err = st.db->scan(storage::column::data, range.first, range.last,
                         [&](std::string_view key, std::string_view) {
                           batch.erase(storage::column::data, key);
                           ++keys;
                           return batch.count() < 1000 || flush();
                         });
  st.trees.erase(req.partition());  // rebuilt from disk when asked for again
  if (!err && flush()) {
    msg::DropPartitionReply reply;
    reply.set_keys(keys);
    return reply;
  }
  if (fatal(failed)) self->quit(failed);  // a disk that fails a write: the node must restart
  return failed ? failed : err;
}

// The tree of `partition`, built from disk on first use (after committing what is staged, so
// that every later staged write updates a tree that already holds the committed state).
caf::expected<storage::merkle_tree*> tree_of(replica_pointer self, uint32_t partition) {
  auto& st = self->state;
  if (auto i = st.trees.find(partition); i != st.trees.end()) return &i->second;
  if (auto err = commit(self)) {
    if (fatal(err)) self->quit(err);
    return err;
  }
  storage::merkle_tree tree{st.cfg.merkle_leaves};
  auto range = storage::partition_range(partition);
  auto err = st.db->scan(storage::column::data, range.first, range.last,
                         [&](std::string_view key, std::string_view value) {
                           tree.update(key, 0, storage::merkle_tree::digest(key, value));
                           return true;
                         });
  if (err) return err;
  return &st.trees.emplace(partition, std::move(tree)).first->second;
}

// A page of a bucket listing: the keys of `req.buckets()` among the next tree_page_keys keys of
// the partition after `req.after()`, each with its digest.
caf::error list_buckets(const replica_state& st, const storage::merkle_tree& tree,
                        const msg::TreeRequest& req, msg::TreeReply& reply) {
  std::vector<bool> wanted(tree.leaves());
  for (auto bucket : req.buckets()) {
    if (bucket >= tree.leaves())
      return make_error(errc::invalid_argument, "no bucket " + std::to_string(bucket));
    wanted[bucket] = true;
  }
  auto range = storage::partition_range(req.partition());
  auto first = range.first;
  if (!req.after().empty()) {
    if (req.after() < range.first || (!range.last.empty() && req.after() >= range.last))
      return make_error(errc::invalid_argument, "a listing resumed outside its partition");
    first = req.after() + '\0';  // the smallest key after it
  }
  uint64_t scanned = 0;
  std::string last;
  auto err = st.db->scan(storage::column::data, first, range.last,
                         [&](std::string_view key, std::string_view value) {
                           if (scanned == tree_page_keys) {  // more to come: resume after `last`
                             reply.set_next(last);
                             return false;
                           }
                           ++scanned;
                           last = key;
                           if (!wanted[tree.bucket_of(key)]) return true;
                           auto parts = storage::parse_data_key(key);
                           if (!parts) return true;
                           auto& entry = *reply.add_keys();
                           entry.set_ns(std::string{parts->ns});
                           entry.set_key(std::string{parts->key});
                           entry.set_digest(storage::merkle_tree::digest(key, value));
                           return true;
                         });
  reply.set_keys_scanned(scanned);
  return err;
}

caf::result<msg::TreeReply> on_tree(replica_pointer self, const msg::TreeRequest& req) {
  auto& st = self->state;
  if (auto err = check_partition(st.cfg, req.partition())) return err;
  auto tree = tree_of(self, req.partition());
  if (!tree) return tree.error();
  auto& t = **tree;
  msg::TreeReply reply;
  reply.set_leaves(t.leaves());
  if (req.level() > t.depth())
    return make_error(errc::invalid_argument, "no level " + std::to_string(req.level()));
  if (static_cast<uint64_t>(req.indexes_size()) > (uint64_t{1} << req.level()) ||
      static_cast<uint32_t>(req.buckets_size()) > t.leaves())
    return make_error(errc::invalid_argument, "more nodes or buckets than the tree has");
  for (auto index : req.indexes()) {
    if (index >= (1u << req.level()))
      return make_error(errc::invalid_argument, "no node " + std::to_string(index));
    reply.add_hashes(t.node(req.level(), index));
  }
  if (req.buckets_size() == 0) return reply;
  if (auto err = list_buckets(st, t, req, reply)) return err;
  return reply;
}

replica_actor::behavior_type replica(replica_pointer self, replica_config cfg,
                                     std::shared_ptr<storage::engine> db) {
  self->state.cfg = std::move(cfg);
  self->state.db = std::move(db);
  auto pending = self->state.pending;
  auto syncing = self->state.syncing;
  // Writes still staged when the replica dies were never committed: not applied, safe to retry.
  // Writes committed but not yet synced (offload_syncs) may or may not survive a crash.
  self->attach_functor(
      [pending, syncing, role = replica_role(self->state.cfg.index)](const caf::error& why) {
        auto reason = why ? describe(why) : std::string{"stopped"};
        if (!pending->waiting.empty()) {
          auto err = make_error(errc::unavailable, role + " stopped before committing the write (" +
                                                       reason + "); it was not applied");
          for (auto& entry : pending->waiting) entry.first.deliver(err);
          pending->reset();
        }
        auto doubt = make_error(errc::unavailable, role + " stopped before syncing the write (" +
                                                       reason + "); it may or may not be kept");
        for (auto& [id, round] : *syncing)
          for (auto& entry : round.waiting) entry.first.deliver(doubt);
        syncing->clear();
      });
  shield(self, "replica", [self](caf::scheduled_actor*, caf::exit_msg& msg) {
    caf::error failed;
    if (msg.reason == caf::exit_reason::user_shutdown) {
      failed = commit(self, true);
      sync_owed(self);
    }
    self->quit(failed ? std::move(failed) : std::move(msg.reason));
  });
  return {
      [self](msg::ReplicaWriteRequest& req) { return on_write(self, req); },
      [self](const msg::ReplicaReadRequest& req) { return on_read(self, req); },
      [self](const msg::TreeRequest& req) { return on_tree(self, req); },
      [self](const msg::DropPartitionRequest& req) { return on_drop(self, req); },
      [self](commit_atom) {
        if (auto err = commit(self); fatal(err)) self->quit(std::move(err));
      },
  };
}

}  // namespace

replica_config make_replica_config(const node_config& cfg, uint32_t index,
                                   std::shared_ptr<storage::dot_issuer> issuer) {
  replica_config result;
  auto per_replica = cfg.partitions / cfg.replica_actors;
  result.index = index;
  result.first_partition = index * per_replica;
  result.last_partition = (index + 1) * per_replica;
  result.node_id = cfg.node_id;
  result.issuer = std::move(issuer);
  result.sync = cfg.sync;
  result.max_context_entries = cfg.max_context_entries;
  result.merkle_leaves = cfg.merkle_leaves;
  result.now_ms = cfg.now_ms;
  return result;
}

replica_config make_replica_config(const node_config& cfg, uint32_t index, std::string actor) {
  return make_replica_config(cfg, index,
                             std::make_shared<storage::dot_issuer>(std::move(actor), nullptr));
}

uint32_t replica_index(uint32_t partition, uint32_t partitions, uint32_t replicas) {
  return partition / (partitions / replicas);
}

namespace {

template <class Spawner>
replica_actor spawn_with(Spawner& spawner, replica_config cfg, std::shared_ptr<storage::engine> db,
                         bool detached) {
  if (detached)
    return spawner.template spawn<caf::detached>(replica, std::move(cfg), std::move(db));
  return spawner.spawn(replica, std::move(cfg), std::move(db));
}

}  // namespace

replica_actor spawn_replica(caf::local_actor* parent, replica_config cfg,
                            std::shared_ptr<storage::engine> db, bool detached) {
  return spawn_with(*parent, std::move(cfg), std::move(db), detached);
}

replica_actor spawn_replica(caf::actor_system& sys, replica_config cfg,
                            std::shared_ptr<storage::engine> db, bool detached) {
  return spawn_with(sys, std::move(cfg), std::move(db), detached);
}

}  // namespace kv::actors
