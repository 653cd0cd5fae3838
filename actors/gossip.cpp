#include "actors/gossip.hpp"

#include <map>
#include <random>

#include "actors/net/peer_link.hpp"
#include "actors/net/shield.hpp"
#include "actors/net/tls_scribe.hpp"
#include "actors/node/audit.hpp"
#include "actors/node/log.hpp"
#include "actors/node/registry.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "cluster/failure_detector.hpp"
#include "cluster/member_wire.hpp"
#include "messages/errc.hpp"
#include "storage/engine.hpp"

namespace kv::actors {
namespace {

using cluster::member_entry;
using cluster::member_status;
using steady = std::chrono::steady_clock;

constexpr const char* table_key = "member_table";

// Failed attempts after which a peer counts as down for readiness: it is not waited for.
constexpr uint32_t attempts_before_down = 3;

// Refused gossip is logged at most once per this interval (see warn_refused).
constexpr auto refusal_log_interval = std::chrono::seconds{10};

// A peer, known by the address it listens on; its id is empty until the first exchange.
struct peer {
  std::string id;
  bool alias = false;    // another address of a member reached under its own: not used
  node_actor front;      // set once connected and introduced
  peer_link_actor link;  // this node's replica calls to it, while connected
  bool connecting = false;
  bool exchanging = false;  // a gossip request is in flight
  uint32_t failures = 0;    // connection attempts failed since the last success
  steady::time_point last_attempt{};
};

struct refusal_log {
  bool logged = false;
  steady::time_point last{};
  uint64_t held_back = 0;
};

struct gossip_state {
  gossip_deps deps;
  cluster::member_table table{member_entry{}};
  cluster::failure_detector detector;
  std::map<std::string, peer> peers;  // by address
  std::shared_ptr<const cluster::ring> ring;
  std::string ring_members;                // what `ring` was built from
  std::optional<std::string> unplaceable;  // the placement the ring refused last, logged once
  std::string published;  // what the last snapshot showed: placement, status, connections
  uint64_t version = 0;
  bool settled = false;  // latched: once placement is final, the node serves for good
  std::mt19937_64 rng{std::random_device{}()};
  steady::time_point last_waiting_log;
  refusal_log refusals;
  std::shared_ptr<spdlog::logger> log = log::get("gossip");

  static inline const char* name = "gossip";
};

using gossip_pointer = gossip_actor::stateful_pointer<gossip_state>;

// -- tables on the wire ---------------------------------------------------------------------------

// The table as this node sends it: within the bounds its peers decode with (the member table
// holds at most max_members rows; the suspects are cut to as many).
msg::MemberTable wire_table(const gossip_state& st) {
  msg::MemberTable t;
  t.set_from(st.table.self_id());
  for (auto& [id, row] : st.table.rows()) cluster::encode_row(row, *t.add_rows());
  for (auto& id : st.detector.suspects(steady::now()))
    if (static_cast<size_t>(t.suspects_size()) < cluster::max_members) t.add_suspects(id);
  return t;
}

msg::Member wire_member(const member_entry& e) {
  msg::MemberRow row;
  cluster::encode_row(e, row);
  return row.member();
}

// Logs refused gossip at most once per refusal_log_interval, so a misbehaving peer cannot flood
// the log; the line's last value is the number of refusals held back since the one before.
template <class... Ts>
void warn_refused(gossip_state& st, size_t count, const char* format, const Ts&... xs) {
  auto now = steady::now();
  auto& r = st.refusals;
  if (r.logged && now - r.last < refusal_log_interval) {
    r.held_back += count;
    return;
  }
  st.log->warn(format, xs..., r.held_back);
  r = {true, now, 0};
}

// One line for the rows of one table that were refused: the first of them, and how many.
void log_refused_rows(gossip_state& st, std::string_view from,
                      const std::vector<cluster::refused_row>& refused) {
  if (refused.empty()) return;
  warn_refused(st, refused.size(),
               "GossipRowRefused from={} id={} reason=\"{}\" refused={} held_back={}", from,
               refused.front().id, refused.front().reason, refused.size());
}

// A peer's table as far as it passes the bounds of cluster/member_wire.hpp; an error if it is
// refused whole. What was refused is logged.
caf::expected<cluster::decoded_table> checked(gossip_state& st, const msg::MemberTable& t) {
  auto decoded = cluster::decode_table(t);
  if (!decoded)
    warn_refused(st, 1, "GossipTableRefused from={} err=\"{}\" held_back={}",
                 cluster::loggable(t.from()), describe(decoded.error()));
  else
    log_refused_rows(st, decoded->from, decoded->refused);
  return decoded;
}

// -- peers ----------------------------------------------------------------------------------------

// True when `node` may speak as member `id`: always without TLS between nodes, else when the
// certificate of its connection names `id`. A refusal is logged (rate-limited) and audited.
bool certified_as(gossip_pointer self, const caf::node_id& node, const std::string& id) {
  auto& st = self->state;
  if (!st.deps.peers || node == self->node()) return true;
  auto member = st.deps.peers->directory->member_of(node);
  if (member && *member == id) return true;
  auto why = member ? "its certificate names " + *member : std::string{"it has no certificate"};
  warn_refused(st, 1, "GossipRefused from={} reason=\"{}\" held_back={}", cluster::loggable(id),
               why);
  if (st.deps.audit)
    st.deps.audit->record("peer_refused", {{"member", cluster::loggable(id)},
                                           {"reason", "gossip under another member's id: " + why}});
  return false;
}

peer* peer_of(gossip_state& st, const std::string& id) {
  for (auto& [address, p] : st.peers)
    if (p.id == id && !p.alias) return &p;
  return nullptr;
}

bool another_member(const gossip_state& st, const member_entry& row) {
  return row.spec.id != st.table.self_id() && row.status != member_status::removed;
}

// Every member of the table has a peer at its address, unless it is connected under another
// (a seed given by another name). A removed member's peer, or one at an address the member
// left, is closed and kept only as an alias, so it is not dialled again.
void sync_peers(gossip_pointer self) {
  auto& st = self->state;
  auto retire = [self](peer& p) {
    if (p.link) self->send_exit(p.link, caf::exit_reason::user_shutdown);
    auto id = p.id;
    p = peer{};
    p.id = id;
    p.alias = true;
  };
  for (auto& [id, row] : st.table.rows()) {
    if (row.spec.id == st.table.self_id() || row.address.empty()) continue;
    auto* known = peer_of(st, id);
    if (row.status == member_status::removed) {
      if (known) retire(*known);
      continue;
    }
    if (known && !known->front && st.peers.count(row.address) == 0) {  // it moved
      retire(*known);
      known = nullptr;
    }
    if (known) continue;
    auto& p = st.peers[row.address];
    if (p.id.empty() || p.id == id) {
      p.id = id;
      p.alias = false;
    }
  }
}

std::vector<std::string> missing_seeds(const gossip_state& st) {
  std::vector<std::string> result;
  for (auto& seed : st.deps.cfg.seeds) {
    auto address = to_string(seed);
    if (address == st.table.self().address) continue;
    auto i = st.peers.find(address);
    if (i == st.peers.end() || i->second.id.empty()) result.push_back(address);
  }
  return result;
}

// Placement is final, and every placed peer that is not down is connected or has failed a few
// attempts: the node may serve.
bool settled(const gossip_state& st) {
  if (!missing_seeds(st).empty()) return false;
  for (auto& [address, p] : st.peers) {
    auto* row = p.id.empty() || p.alias ? nullptr : st.table.find(p.id);
    if (!row || !cluster::placed(row->status) || row->status == member_status::down) continue;
    if (!p.front && p.failures < attempts_before_down) return false;
  }
  return true;
}

// -- the view -------------------------------------------------------------------------------------

void store_table(gossip_state& st) {
  storage::write_batch batch;
  batch.put(storage::column::meta, table_key, wire_table(st).SerializeAsString());
  if (auto err = st.deps.db->write(batch, true))
    st.log->warn("MembersNotStored err=\"{}\"",
                 describe(err));  // kept in memory; retried on change
}

// Rebuilds the ring when placement changed; true if it did. A placement the ring cannot take
// keeps the previous ring and is logged once: checked rows make that unreachable, but the ring
// is never trusted to get valid input.
bool rebuild_ring(gossip_state& st, const std::vector<cluster::member_spec>& specs,
                  const std::string& sig) {
  if ((st.ring && sig == st.ring_members) || st.unplaceable == sig) return false;
  auto built = cluster::ring::make(specs, ring_options_of(st.deps.cfg));
  if (!built) {
    st.unplaceable = sig;
    st.log->error("RingNotBuilt members={} err=\"{}\" (the previous ring stays)", specs.size(),
                  describe(built.error()));
    return false;
  }
  st.ring = std::make_shared<const cluster::ring>(std::move(*built));
  st.ring_members = sig;
  st.unplaceable.reset();
  st.log->info("RingBuilt members={} partitions={}", specs.size(), st.ring->partitions());
  return true;
}

// A new snapshot when placement, a status, a connection or a link changed; the ring is rebuilt
// (and the table stored) only when placement changed. True if it stored the table.
bool publish(gossip_pointer self) {
  bool stored = false;
  auto& st = self->state;
  auto specs = st.table.placement();
  auto sig = cluster::placement_signature(specs);
  if (rebuild_ring(st, specs, sig)) {
    store_table(st);
    stored = true;
  }
  if (!st.ring) return stored;  // nothing placed yet: the view keeps the node alone
  auto snap = std::make_shared<cluster_snapshot>();
  snap->ring = st.ring;
  snap->self = cluster_snapshot::no_member;  // until found: a removed node holds nothing
  std::string shown = sig;
  for (auto& m : st.ring->members()) {
    const auto* row = st.table.find(m.id);
    if (m.id == st.table.self_id()) {
      snap->self = static_cast<uint32_t>(snap->peers.size());
      snap->peers.push_back({row->address, true, peer_link_actor{}});
      continue;
    }
    auto* p = peer_of(st, m.id);
    bool up = p && p->front && p->link && row->status != member_status::down;
    snap->peers.push_back({row->address, up, up ? p->link : peer_link_actor{}});
    shown += m.id + (up ? "+" + std::to_string(p->link.id()) : "-");  // a new link is news
  }
  st.settled = st.settled || settled(st);
  shown += st.settled ? "!" : "?";
  snap->leaving = st.table.self().status == member_status::leaving;
  shown += snap->leaving ? "L" : "";
  if (shown == st.published) return stored;
  st.published = shown;
  snap->complete = st.settled;
  snap->version = ++st.version;
  st.deps.view->publish(std::move(snap));
  return stored;
}

// -- gossip ---------------------------------------------------------------------------------------

void connect_all(gossip_pointer self);
void connect(gossip_pointer self, const std::string& address);

void log_table_full(gossip_state& st, const std::string& from,
                    const std::vector<std::string>& ids) {
  std::vector<cluster::refused_row> refused;
  for (auto& id : ids)
    refused.push_back(
        {id, "the member table is full (" + std::to_string(cluster::max_members) + " rows)"});
  log_refused_rows(st, from, refused);
}

void tell_everyone(gossip_pointer self);

// Takes in a peer's checked table: merges it as that member's word (it speaks for itself only,
// cluster/members.hpp), counts whoever spoke as heard, and takes the sender's suspicions into
// account if it is a member (so reports stay as bounded as the table).
void absorb(gossip_pointer self, const cluster::decoded_table& remote) {
  auto& st = self->state;
  auto now = steady::now();
  auto out = st.table.merge_said_by(remote.from, remote.rows);
  log_table_full(st, remote.from, out.refused);
  // Also honest: a member relays another's new incarnation before that one told us itself.
  for (auto& id : out.overreached)
    st.log->debug("GossipRowHeldBack from={} about={}: only that member may say it",
                  cluster::loggable(remote.from), id);
  for (auto& id : out.advanced) st.detector.heard(id, now);
  for (auto& id : out.learned) {
    auto* row = st.table.find(id);
    st.log->info("MemberLearned id={} address={} status={} rack={} dc={} weight={}", id,
                 row->address, to_string(row->status), row->spec.rack, row->spec.datacenter,
                 row->spec.weight);
    // Who told: with TLS, the member whose certificate the gossip came under.
    if (st.deps.audit)
      st.deps.audit->record("member_learned", {{"member", id},
                                               {"address", row->address},
                                               {"status", to_string(row->status)},
                                               {"from", remote.from}});
  }
  for (auto& id : out.revived)
    st.log->info("MemberUp id={} incarnation={}", id, st.table.find(id)->incarnation);
  if (!remote.from.empty() && remote.from != st.table.self_id() && st.table.find(remote.from))
    st.detector.reported(remote.from, remote.suspects, now);
  if (out.refuted) {
    st.log->warn("DownRefuted incarnation={} (a peer had declared this node down)",
                 st.table.self().incarnation);
    tell_everyone(self);
  }
  if (out.self_removed)
    st.log->error(
        "NodeRemoved id={} (this node was removed from the cluster; it no longer holds "
        "replicas)",
        st.table.self_id());
  if (!out.changed) return;
  sync_peers(self);
  connect_all(self);
  for (auto& id : out.advanced)  // it speaks: dial it back now, not at the next attempt
    for (auto& [address, p] : st.peers)
      if (p.id == id && !p.alias && !p.front && !p.connecting) connect(self, address);
  publish(self);
}

void connect_failed(gossip_pointer self, const std::string& address, const caf::error& err);

void introduced(gossip_pointer self, const std::string& address, node_actor front,
                const msg::MemberTable& wire) {
  auto& st = self->state;
  auto remote = checked(st, wire);
  if (!remote || remote->from.empty())
    return connect_failed(
        self, address,
        remote ? make_error(errc::invalid_argument, "the peer gave no id") : remote.error());
  if (!certified_as(self, front.node(), remote->from))
    return connect_failed(
        self, address,
        make_error(errc::unauthenticated, "the peer's certificate does not name " + remote->from));
  auto& p = st.peers[address];
  p.connecting = false;
  p.failures = 0;
  p.id = remote->from;
  if (auto* other = peer_of(st, p.id); other && other != &p) {
    if (other->front) {  // reached under another address already (a seed by another name)
      p.alias = true;
      absorb(self, *remote);
      return;
    }
    *other = peer{};  // this address takes over
    other->id = p.id;
    other->alias = true;
  }
  p.alias = false;
  p.front = std::move(front);  // before absorbing: connect_all must see this peer connected
  self->monitor(p.front);
  if (p.link)  // the peer restarted before its old connection was seen to drop
    self->send_exit(p.link, caf::exit_reason::user_shutdown);
  p.link =
      spawn_peer_link(self, p.front, p.id, st.deps.cfg.max_peer_message_bytes, st.deps.metrics);
  st.log->info("PeerConnected id={} address={}", p.id, address);
  absorb(self, *remote);
  publish(self);
}

void connect_failed(gossip_pointer self, const std::string& address, const caf::error& err) {
  auto& st = self->state;
  auto& p = st.peers[address];
  p.connecting = false;
  if (++p.failures == attempts_before_down) publish(self);  // may settle the view
  st.log->debug("PeerUnreachable address={} err=\"{}\"", address, describe(err));
}

msg::GossipRequest request_of(const gossip_state& st) {
  msg::GossipRequest req;
  *req.mutable_table() = wire_table(st);
  return req;
}

void connect(gossip_pointer self, const std::string& address) {
  auto& st = self->state;
  auto hp = parse_host_port(address);
  if (!hp) return;
  auto& p = st.peers[address];
  p.connecting = true;
  p.last_attempt = steady::now();
  auto mm = st.deps.peers ? st.deps.peers->connector : self->system().middleman().actor_handle();
  auto timeout = st.deps.cfg.connection_timeout;
  self->request(mm, timeout, caf::connect_atom::value, hp->host, hp->port)
      .then(
          [self, address, timeout](const caf::node_id&, caf::strong_actor_ptr& ptr,
                                   const std::set<std::string>& interface) {
            auto expected = self->system().message_types<node_actor>();
            if (!ptr || interface != expected)
              return connect_failed(
                  self, address,
                  make_error(errc::unavailable, "not a ringkv node of this version"));
            auto front = caf::actor_cast<node_actor>(std::move(ptr));
            self->request(front, timeout, request_of(self->state))
                .then(
                    [self, address, front](msg::GossipReply& reply) {
                      introduced(self, address, front, reply.table());
                    },
                    [self, address](caf::error& err) { connect_failed(self, address, err); });
          },
          [self, address](caf::error& err) { connect_failed(self, address, err); });
}

// Connects to every peer neither connected nor being connected to, at most once per
// reconnect_interval each.
void connect_all(gossip_pointer self) {
  auto& st = self->state;
  auto now = steady::now();
  for (auto& [address, p] : st.peers)
    if (!p.front && !p.connecting && !p.alias &&
        now - p.last_attempt >= st.deps.cfg.reconnect_interval)
      connect(self, address);
}

// Push-pull with one peer: its reply is taken as the word of the member its certificate names.
void exchange(gossip_pointer self, peer& p) {
  p.exchanging = true;
  auto id = p.id;
  auto node = p.front.node();
  auto timeout = std::max(self->state.deps.cfg.suspect_after, self->state.deps.cfg.gossip_interval);
  self->request(p.front, timeout, request_of(self->state))
      .then(
          [self, id, node](msg::GossipReply& reply) {
            if (auto* q = peer_of(self->state, id)) q->exchanging = false;
            auto remote = checked(self->state, reply.table());
            if (remote && certified_as(self, node, remote->from)) absorb(self, *remote);
          },
          [self, id](caf::error&) {
            if (auto* q = peer_of(self->state, id)) q->exchanging = false;
          });
}

// This node's own word changed (it refuted a down, it leaves): nobody else may pass that on
// (cluster/members.hpp), so it tells every connected peer now instead of waiting for rumour.
void tell_everyone(gossip_pointer self) {
  auto& st = self->state;
  for (auto& [address, p] : st.peers)
    if (p.front && !p.exchanging && !p.alias && !p.id.empty()) exchange(self, p);
}

// Picks up to `n` of `candidates` at random, without repeats.
std::vector<peer*> pick(std::vector<peer*> candidates, size_t n, std::mt19937_64& rng) {
  std::shuffle(candidates.begin(), candidates.end(), rng);
  if (candidates.size() > n) candidates.resize(n);
  return candidates;
}

// Declares down the members the detector judges down.
void judge(gossip_pointer self, steady::time_point now) {
  auto& st = self->state;
  std::vector<std::string> gone;
  for (auto& [id, row] : st.table.rows())
    if (another_member(st, row) && row.status != member_status::down &&
        st.detector.judge(id, now) == cluster::verdict::down)
      gone.push_back(id);
  for (auto& id : gone) {
    if (!st.table.mark_down(id)) continue;
    st.log->warn("MemberDown id={} silent_ms={} phi={:.1f} incarnation={}", id,
                 st.detector.silent_ms(id, now), st.detector.phi(id, now),
                 st.table.find(id)->incarnation);
  }
}

void log_waiting(gossip_state& st) {
  auto missing = missing_seeds(st);
  auto now = steady::now();
  if (missing.empty() || now - st.last_waiting_log < std::chrono::seconds{5}) return;
  st.last_waiting_log = now;
  std::string list;
  for (auto& m : missing) list += (list.empty() ? "" : ",") + m;
  st.log->warn("WaitingForSeeds missing={}", list);
}

void on_tick(gossip_pointer self) {
  auto& st = self->state;
  auto now = steady::now();
  st.table.beat();
  judge(self, now);
  std::vector<peer*> live, down;
  for (auto& [address, p] : st.peers) {
    if (!p.front || p.exchanging || p.id.empty()) continue;
    auto* row = st.table.find(p.id);
    if (!row || row->status == member_status::removed) continue;
    (row->status == member_status::down ? down : live).push_back(&p);
  }
  for (auto* p : pick(live, st.deps.cfg.gossip_fanout, st.rng)) exchange(self, *p);
  for (auto* p : pick(down, 1, st.rng)) exchange(self, *p);
  connect_all(self);
  log_waiting(st);
  publish(self);
  self->delayed_send(self, st.deps.cfg.gossip_interval, tick_atom::value);
}

void on_down(gossip_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  for (auto& [address, p] : st.peers) {
    if (!p.front || p.front.address() != dm.source) continue;
    p.front = nullptr;
    p.link = nullptr;  // it saw the peer go too, failed its calls and quit
    p.exchanging = false;
    if (!p.id.empty()) st.detector.connection_lost(p.id);
    st.log->warn("PeerDisconnected id={} address={} reason=\"{}\"", p.id, address,
                 describe(dm.reason));
    publish(self);
    return;
  }
}

caf::result<msg::GossipReply> on_gossip(gossip_pointer self, const msg::GossipRequest& req) {
  auto remote = checked(self->state, req.table());
  if (!remote) return remote.error();
  if (auto& sender = self->current_sender();
      sender && !certified_as(self, sender->node(), remote->from))
    return make_error(errc::unauthenticated,
                      "gossip refused: the connection's certificate does not name " + remote->from);
  absorb(self, *remote);
  msg::GossipReply reply;
  *reply.mutable_table() = wire_table(self->state);
  return reply;
}

// The members for the node's status: state, place and how long since each was heard.
msg::StatusReply describe_members(gossip_state& st) {
  msg::StatusReply reply;
  auto now = steady::now();
  for (auto& [id, row] : st.table.rows()) {
    auto& m = *reply.add_members();
    m = wire_member(row);
    bool is_self = id == st.table.self_id();
    m.set_last_heard_ms(is_self ? 0 : st.detector.silent_ms(id, now));
    auto* p = is_self ? nullptr : peer_of(st, id);
    m.set_reachable(is_self || (p && p->front));
  }
  return reply;
}

// An operator takes a member out for good: refused for this node, an unknown id, and (without
// force) a member that is not down, whose data would be left behind unannounced.
caf::result<msg::RemoveMemberReply> remove_member(gossip_pointer self,
                                                  const msg::RemoveMemberRequest& req) {
  auto& st = self->state;
  const auto* row = st.table.find(req.id());
  if (!row)
    return make_error(errc::invalid_argument, "no member '" + req.id() + "' in the cluster");
  if (req.id() == st.table.self_id())
    return make_error(errc::invalid_argument,
                      req.id() + " cannot remove itself: stop it and ask another member");
  if (!req.force() && row->status != member_status::down && row->status != member_status::removed)
    return make_error(errc::invalid_argument,
                      req.id() + " is " + to_string(row->status) +
                          ", not down: stop it first, or pass --force to remove it anyway");
  if (st.table.mark_removed(req.id())) {
    st.detector.forget(req.id());
    st.log->warn("MemberRemoved id={} incarnation={}", req.id(), row->incarnation);
    sync_peers(self);
    if (!publish(self)) store_table(st);
  }
  msg::RemoveMemberReply reply;
  *reply.mutable_member() = wire_member(*st.table.find(req.id()));
  return reply;
}

// This node hands its partitions off and then stops (actors/handoff.hpp does both): leaving, it
// holds no replicas in anyone's ring. Refused for the last member holding data.
caf::result<msg::LeaveReply> leave(gossip_pointer self) {
  auto& st = self->state;
  if (st.table.self().status != member_status::leaving) {
    auto others = st.table.placement().size() - (cluster::placed(st.table.self().status) ? 1 : 0);
    if (others == 0)
      return make_error(errc::invalid_argument,
                        st.table.self_id() + " is the last member: nobody could take its data");
    st.table.set_self_status(member_status::leaving);
    st.log->warn("Leaving id={} incarnation={}: handing partitions off, then stopping",
                 st.table.self_id(), st.table.self().incarnation);
    if (!publish(self)) store_table(st);
    tell_everyone(self);
  }
  msg::LeaveReply reply;
  *reply.mutable_member() = wire_member(st.table.self());
  return reply;
}

void load_table(gossip_pointer self) {
  auto& st = self->state;
  auto stored = st.deps.db->get(storage::column::meta, table_key);
  if (!stored || !*stored) return;
  auto table = cluster::decode_table(std::string_view{**stored});
  if (!table) {
    st.log->warn("StoredMembersUnreadable key={} err=\"{}\"", table_key, describe(table.error()));
    return;
  }
  log_refused_rows(st, "(stored)", table->refused);
  table->from.clear();  // no suspicions from an earlier life
  table->suspects.clear();
  absorb(self, *table);
}

gossip_actor::behavior_type gossip(gossip_pointer self, gossip_deps deps) {
  shield(self, "gossip");
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  auto& st = self->state;
  st.deps = std::move(deps);
  st.table = cluster::member_table{self_entry(st.deps.cfg, st.deps.epoch)};
  cluster::detector_options opts;
  opts.suspect_after = st.deps.cfg.suspect_after;
  opts.phi_threshold = st.deps.cfg.phi_threshold;
  opts.min_interval = st.deps.cfg.gossip_interval;
  st.detector = cluster::failure_detector{opts};
  st.last_waiting_log = steady::now();  // warn after 5 s of waiting
  for (auto& seed : st.deps.cfg.seeds) {
    auto address = to_string(seed);
    if (address != st.table.self().address) st.peers.try_emplace(address);
  }
  load_table(self);
  publish(self);
  self->send(self, tick_atom::value);
  return {
      [self](const msg::GossipRequest& req) { return on_gossip(self, req); },
      [self](const msg::StatusRequest&) { return describe_members(self->state); },
      [self](const msg::RemoveMemberRequest& req) { return remove_member(self, req); },
      [self](const msg::LeaveRequest&) { return leave(self); },
      [self](tick_atom) { on_tick(self); },
  };
}

}  // namespace

gossip_actor spawn_gossip(caf::local_actor* parent, gossip_deps deps) {
  return parent->spawn(gossip, std::move(deps));
}

member_entry self_entry(const node_config& cfg, uint64_t incarnation) {
  member_entry e;
  e.spec = {cfg.node_id, cfg.rack, cfg.datacenter, cfg.weight};
  e.address = to_string(cfg.peer_listen);
  e.status = member_status::up;
  e.incarnation = incarnation;
  return e;
}

cluster::ring_options ring_options_of(const node_config& cfg) {
  cluster::ring_options opts;
  opts.partitions = cfg.partitions;
  opts.tokens_per_weight = cfg.tokens_per_weight;
  return opts;
}

}  // namespace kv::actors
