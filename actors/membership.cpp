#include "actors/membership.hpp"

#include <map>

#include "actors/log.hpp"
#include "actors/peer_link.hpp"
#include "actors/registry.hpp"
#include "actors/shield.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "messages/errc.hpp"
#include "messages/storage.pb.h"
#include "storage/engine.hpp"

namespace kv::actors {
namespace {

constexpr const char* members_key = "members";

// A peer, known by the address it listens on; its id is empty until it introduced itself.
struct peer {
  msg::Member info;
  node_actor front;      // set once connected and introduced
  peer_link_actor link;  // this node's replica calls to it, while connected
  bool connecting = false;
  uint32_t failures = 0;  // connection attempts failed since the last success
};

// Failed attempts after which a peer counts as down for readiness: it is not waited for.
constexpr uint32_t attempts_before_down = 3;

struct membership_state {
  membership_deps deps;
  msg::Member self;
  std::map<std::string, peer> peers;  // by address
  std::shared_ptr<const cluster::ring> ring;
  std::string ring_members;  // what `ring` was built from (ids, racks, weights)
  uint64_t version = 0;
  bool settled = false;  // latched: once placement is final, the node serves for good
  std::chrono::steady_clock::time_point last_waiting_log;
  std::shared_ptr<spdlog::logger> log = log::get("membership");

  static inline const char* name = "membership";
};

using membership_pointer = membership_actor::stateful_pointer<membership_state>;

bool identified(const peer& p) {
  return !p.info.id().empty();
}

// The members that define placement: this node and every identified peer.
std::vector<cluster::member_spec> member_specs(const membership_state& st) {
  std::vector<cluster::member_spec> result{to_spec(st.self)};
  for (auto& [address, p] : st.peers)
    if (identified(p)) result.push_back(to_spec(p.info));
  return result;
}

std::string signature(const std::vector<cluster::member_spec>& specs) {
  std::string result;
  for (auto& m : specs)
    result += m.id + "/" + m.datacenter + "/" + m.rack + "/" + std::to_string(m.weight) + ";";
  return result;
}

// Placement is final, and every peer is connected or has failed a few attempts: the node may
// serve (a peer that is down does not keep it from serving).
bool settled(const membership_state& st);

std::vector<std::string> missing_seeds(const membership_state& st) {
  std::vector<std::string> result;
  for (auto& seed : st.deps.cfg.seeds) {
    auto address = to_string(seed);
    if (address == st.self.address()) continue;
    auto i = st.peers.find(address);
    if (i == st.peers.end() || !identified(i->second)) result.push_back(address);
  }
  return result;
}

// A new snapshot for the view: the ring is rebuilt only when the members changed.
void publish(membership_pointer self) {
  auto& st = self->state;
  auto specs = member_specs(st);
  auto sig = signature(specs);
  if (!st.ring || sig != st.ring_members) {
    st.ring = std::make_shared<cluster::ring>(specs, ring_options_of(st.deps.cfg));
    st.ring_members = sig;
    st.log->info("RingBuilt members={} partitions={}", specs.size(), st.ring->partitions());
  }
  auto snap = std::make_shared<cluster_snapshot>();
  snap->ring = st.ring;
  snap->version = ++st.version;
  for (auto& m : st.ring->members()) {
    if (m.id == st.self.id()) {
      snap->self = static_cast<uint32_t>(snap->peers.size());
      snap->peers.push_back({st.self.address(), true, peer_link_actor{}});
      continue;
    }
    for (auto& [address, p] : st.peers)
      if (p.info.id() == m.id) snap->peers.push_back({address, static_cast<bool>(p.front), p.link});
  }
  st.settled = st.settled || settled(st);
  snap->complete = st.settled;
  st.deps.view->publish(std::move(snap));
}

bool settled(const membership_state& st) {
  if (!missing_seeds(st).empty()) return false;
  for (auto& [address, p] : st.peers)
    if (identified(p) && !p.front && p.failures < attempts_before_down) return false;
  return true;
}

void store_members(membership_state& st) {
  msg::MemberList list;
  *list.add_members() = st.self;
  for (auto& [address, p] : st.peers)
    if (identified(p)) *list.add_members() = p.info;
  storage::write_batch batch;
  batch.put(storage::column::meta, members_key, list.SerializeAsString());
  if (auto err = st.deps.db->write(batch, true))
    st.log->warn("MembersNotStored err=\"{}\"",
                 describe(err));  // kept in memory; retried on change
}

// Takes in what a peer says about a member; true when the member set changed.
bool learn(membership_state& st, const msg::Member& m) {
  if (m.id().empty() || m.address().empty() || m.id() == st.self.id()) return false;
  for (auto i = st.peers.begin(); i != st.peers.end(); ++i) {
    if (i->second.info.id() == m.id() && i->first != m.address()) {  // it moved
      st.peers.erase(i);
      break;
    }
  }
  auto& p = st.peers[m.address()];
  bool changed = signature({to_spec(p.info)}) != signature({to_spec(m)});
  p.info = m;
  if (changed)
    st.log->info("MemberLearned id={} address={} rack={} dc={} weight={}", m.id(), m.address(),
                 m.rack(), m.datacenter(), m.weight());
  return changed;
}

void connect(membership_pointer self, const std::string& address);
void connect_all(membership_pointer self);

void learn_all(membership_pointer self, const msg::MembersReply& reply) {
  auto& st = self->state;
  bool changed = learn(st, reply.self());
  for (auto& m : reply.members()) changed = learn(st, m) || changed;
  if (changed) store_members(st);
  connect_all(self);
}

void introduced(membership_pointer self, const std::string& address, node_actor front,
                msg::MembersReply& reply) {
  auto& st = self->state;
  auto& p = st.peers[address];
  p.connecting = false;
  p.failures = 0;
  p.front = std::move(front);  // before learning: connect_all must see this peer connected
  self->monitor(p.front);
  if (reply.self().address() != address) reply.mutable_self()->set_address(address);
  learn_all(self, reply);
  if (p.link)  // the peer restarted before its old connection was seen to drop
    self->send_exit(p.link, caf::exit_reason::user_shutdown);
  p.link = spawn_peer_link(self, p.front, p.info.id());
  st.log->info("PeerUp id={} address={}", p.info.id(), address);
  publish(self);
}

void connect_failed(membership_pointer self, const std::string& address, const caf::error& err) {
  auto& st = self->state;
  auto& p = st.peers[address];
  p.connecting = false;
  if (++p.failures == attempts_before_down) publish(self);  // may settle the view
  st.log->debug("PeerUnreachable address={} err=\"{}\"", address, describe(err));
}

void connect(membership_pointer self, const std::string& address) {
  auto& st = self->state;
  auto hp = parse_host_port(address);
  if (!hp) return;
  st.peers[address].connecting = true;
  auto mm = self->system().middleman().actor_handle();
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
            msg::MembersRequest hello;
            *hello.mutable_from() = self->state.self;
            self->request(front, timeout, std::move(hello))
                .then([self, address, front](
                          msg::MembersReply& reply) { introduced(self, address, front, reply); },
                      [self, address](caf::error& err) { connect_failed(self, address, err); });
          },
          [self, address](caf::error& err) { connect_failed(self, address, err); });
}

void log_waiting(membership_state& st) {
  auto missing = missing_seeds(st);
  auto now = std::chrono::steady_clock::now();
  if (missing.empty() || now - st.last_waiting_log < std::chrono::seconds{5}) return;
  st.last_waiting_log = now;
  std::string list;
  for (auto& m : missing) list += (list.empty() ? "" : ",") + m;
  st.log->warn("WaitingForSeeds missing={}", list);
}

// Connects to every peer neither connected nor being connected to.
void connect_all(membership_pointer self) {
  for (auto& [address, p] : self->state.peers)
    if (!p.front && !p.connecting) connect(self, address);
}

void on_tick(membership_pointer self) {
  connect_all(self);
  log_waiting(self->state);
  self->delayed_send(self, self->state.deps.cfg.membership_interval, tick_atom::value);
}

void on_down(membership_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  for (auto& [address, p] : st.peers) {
    if (!p.front || p.front.address() != dm.source) continue;
    p.front = nullptr;
    p.link = nullptr;  // it saw the peer go too, failed its calls and quit
    st.log->warn("PeerDown id={} address={} reason=\"{}\"", p.info.id(), address,
                 describe(dm.reason));
    publish(self);
    return;
  }
}

msg::MembersReply introduce(membership_pointer self, const msg::MembersRequest& req) {
  auto& st = self->state;
  if (learn(st, req.from())) {
    store_members(st);
    publish(self);  // the newcomer counts now
  }
  connect_all(self);  // a peer that introduces itself is up: reconnect now, not at the tick
  msg::MembersReply reply;
  *reply.mutable_self() = st.self;
  *reply.add_members() = st.self;
  for (auto& [address, p] : st.peers)
    if (identified(p)) *reply.add_members() = p.info;
  return reply;
}

void load_members(membership_state& st) {
  auto stored = st.deps.db->get(storage::column::meta, members_key);
  if (!stored || !*stored) return;
  msg::MemberList list;
  if (!list.ParseFromString(**stored)) {
    st.log->warn("StoredMembersUnreadable key={}", members_key);
    return;
  }
  for (auto& m : list.members()) learn(st, m);
}

membership_actor::behavior_type membership(membership_pointer self, membership_deps deps) {
  shield(self, "membership");
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  auto& st = self->state;
  st.deps = std::move(deps);
  st.self = self_member(st.deps.cfg);
  st.last_waiting_log = std::chrono::steady_clock::now();  // warn after 5 s of waiting
  load_members(st);
  for (auto& seed : st.deps.cfg.seeds) {
    auto address = to_string(seed);
    if (address != st.self.address()) st.peers.try_emplace(address);
  }
  publish(self);
  self->send(self, tick_atom::value);
  return {
      [self](const msg::MembersRequest& req) { return introduce(self, req); },
      [self](tick_atom) { on_tick(self); },
  };
}

}  // namespace

membership_actor spawn_membership(caf::local_actor* parent, membership_deps deps) {
  return parent->spawn(membership, std::move(deps));
}

msg::Member self_member(const node_config& cfg) {
  msg::Member m;
  m.set_id(cfg.node_id);
  m.set_address(to_string(cfg.listen));
  m.set_rack(cfg.rack);
  m.set_datacenter(cfg.datacenter);
  m.set_weight(cfg.weight);
  m.set_state(msg::MEMBER_UP);
  return m;
}

cluster::member_spec to_spec(const msg::Member& m) {
  return {m.id(), m.rack(), m.datacenter(), m.weight() == 0 ? 1 : m.weight()};
}

cluster::ring_options ring_options_of(const node_config& cfg) {
  cluster::ring_options opts;
  opts.partitions = cfg.partitions;
  opts.tokens_per_weight = cfg.tokens_per_weight;
  return opts;
}

}  // namespace kv::actors
