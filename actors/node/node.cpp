#include "actors/node/node.hpp"

#include <algorithm>
#include <csignal>
#include <functional>
#include <iostream>
#include <thread>

#include "actors/gossip.hpp"
#include "actors/interfaces.hpp"
#include "actors/net/client_port.hpp"
#include "actors/net/front.hpp"
#include "actors/net/guarded_port.hpp"
#include "actors/net/http.hpp"
#include "actors/net/shield.hpp"
#include "actors/net/tls_scribe.hpp"
#include "actors/node/acl.hpp"
#include "actors/node/audit.hpp"
#include "actors/node/cluster_view.hpp"
#include "actors/node/log.hpp"
#include "actors/node/metrics.hpp"
#include "actors/node/registry.hpp"
#include "actors/replica.hpp"
#include "actors/supervisor.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "cluster/partitioner.hpp"
#include "messages/caf_types.hpp"
#include "messages/errc.hpp"
#include "storage/disk_reserve.hpp"
#include "storage/dot_issuer.hpp"
#include "storage/engine.hpp"
#include "storage/identity.hpp"

namespace kv::actors {
namespace {

// -- the node actor ---------------------------------------------------------------------------

struct node_state {
  supervisor_deps deps;
  supervisor_actor sup;

  static inline const char* name = "node";
};

using node_pointer = admin_actor::stateful_pointer<node_state>;

msg::Member member_of(const cluster_snapshot& snap, uint32_t i) {
  const auto& spec = snap.member(i);
  msg::Member m;
  m.set_id(spec.id);
  m.set_address(snap.peers[i].address);
  m.set_rack(spec.rack);
  m.set_datacenter(spec.datacenter);
  m.set_weight(spec.weight);
  m.set_state(snap.peers[i].up ? msg::MEMBER_UP : msg::MEMBER_DOWN);
  return m;
}

msg::StatusReply describe_node(const supervisor_deps& info) {
  auto& cfg = info.cfg;
  msg::StatusReply reply;
  reply.set_node_id(cfg.node_id);
  reply.set_address(to_string(cfg.listen));
  reply.set_peer_address(to_string(cfg.peer_listen));
  reply.set_admin_address(to_string(cfg.admin_listen));
  reply.set_version(KV_VERSION);
  reply.set_uptime_ms(cfg.now_ms() - info.started_ms);
  reply.set_partitions(cfg.partitions);
  reply.set_sync(cfg.sync);
  reply.set_epoch(info.issuer->actor());
  for (auto& [name, ns] : cfg.namespaces) reply.add_namespaces(name);
  auto snap = info.view->current();
  reply.set_readiness(!snap->complete ? msg::READINESS_STARTING
                      : snap->leaving ? msg::READINESS_LEAVING
                                      : msg::READINESS_SERVING);
  for (uint32_t i = 0; i < snap->peers.size(); ++i) *reply.add_members() = member_of(*snap, i);
  auto stats = info.db->stats();
  auto* storage = reply.mutable_storage();
  storage->set_writes(stats.writes);
  storage->set_commits(stats.commits);
  storage->set_synced_commits(stats.synced_commits);
  storage->set_wal_syncs(stats.wal_syncs);
  storage->set_bytes_written(stats.bytes_written);
  storage->set_live_data_bytes(info.db->live_data_bytes());
  storage->set_block_cache_bytes(info.db->block_cache_usage());
  storage->set_estimated_keys(info.db->estimated_keys(storage::column::data));
  return reply;
}

// The members as gossip knows them (status, last heard), each with the replicas it holds at the
// default namespace's n; the view's members as they are if gossip is restarting.
void describe_members(node_pointer self, caf::response_promise promise,
                      std::shared_ptr<msg::StatusReply> reply) {
  auto& deps = self->state.deps;
  auto finish = [promise, reply, deps]() mutable {
    auto snap = deps.view->current();
    auto n = deps.cfg.namespaces.at("default").n;
    auto counts = snap->ring->replica_counts(n);
    for (auto& m : *reply->mutable_members())
      if (auto i = snap->ring->index_of(m.id())) m.set_replicas(counts[*i]);
    promise.deliver(std::move(*reply));
  };
  auto gossip = deps.reg->get_as<gossip_actor>("gossip");
  if (!gossip) return finish();
  self->request(gossip, deps.cfg.default_timeout, msg::StatusRequest{})
      .then(
          [reply, finish](msg::StatusReply& members) mutable {
            reply->mutable_members()->Swap(members.mutable_members());
            finish();
          },
          [finish](caf::error&) mutable { finish(); });
}

caf::result<msg::StatusReply> status(node_pointer self) {
  auto promise = self->make_response_promise<msg::StatusReply>();
  auto reply = std::make_shared<msg::StatusReply>(describe_node(self->state.deps));
  self->request(self->state.sup, caf::infinite, msg::SupervisorStatusRequest{})
      .then(
          [self, promise, reply](msg::SupervisorStatusReply& tree) mutable {
            reply->mutable_actors()->Swap(tree.mutable_actors());
            describe_members(self, promise, reply);
          },
          [self, promise, reply](caf::error&) mutable { describe_members(self, promise, reply); });
  return promise;
}

caf::result<msg::FailActorReply> fail_actor(node_pointer self, const msg::FailActorRequest& req) {
  auto& info = self->state.deps;
  auto target = info.reg->get(req.role());
  if (!target) {
    std::string known;
    for (auto& role : info.reg->roles()) known += (known.empty() ? "" : ", ") + role;
    return make_error(errc::invalid_argument, "no actor named '" + req.role() + "' on " +
                                                  info.cfg.node_id + " (known: " + known + ")");
  }
  auto why = req.reason().empty() ? std::string{"admin request"} : req.reason();
  log::get("node")->warn("FailActor role={} reason=\"{}\"", req.role(), why);
  // Urgent: the actor fails now, like a crash, not after the work already in its mailbox.
  target->get()->eq_impl(
      caf::make_message_id(caf::message_priority::high), self->ctrl(), self->context(),
      caf::exit_msg{self->address(), make_error(errc::internal, "failed on purpose: " + why)});
  msg::FailActorReply reply;
  reply.set_role(req.role());
  return reply;
}

caf::expected<const cluster::namespace_config*> namespace_of(const node_config& cfg,
                                                             const std::string& name) {
  auto i = cfg.namespaces.find(name.empty() ? "default" : name);
  if (i == cfg.namespaces.end())
    return make_error(errc::invalid_argument, "unknown namespace '" + name + "'");
  return &i->second;
}

caf::result<msg::RingReply> ring(node_pointer self, const msg::RingRequest& req) {
  auto& deps = self->state.deps;
  auto ns = namespace_of(deps.cfg, req.ns());
  if (!ns) return ns.error();
  auto snap = deps.view->current();
  auto& r = *snap->ring;
  auto n = (*ns)->n;
  auto replicas = r.replica_counts(n);
  auto primaries = r.replica_counts(1);
  msg::RingReply reply;
  reply.set_partitions(r.partitions());
  reply.set_n(n);
  reply.set_tokens_per_weight(r.options().tokens_per_weight);
  uint64_t total = 0, most = 0;
  for (uint32_t i = 0; i < snap->peers.size(); ++i) {
    auto* share = reply.add_shares();
    *share->mutable_member() = member_of(*snap, i);
    share->set_primaries(primaries[i]);
    share->set_replicas(replicas[i]);
    total += replicas[i];
    most = std::max<uint64_t>(most, replicas[i]);
  }
  double mean = snap->peers.empty() ? 0 : static_cast<double>(total) / snap->peers.size();
  reply.set_max_over_mean(mean > 0 ? most / mean : 0);
  return reply;
}

// Asks every replica of the key, in preference order, what it holds, straight from storage.
caf::result<msg::ExplainReply> explain(node_pointer self, const msg::ExplainRequest& req) {
  auto& deps = self->state.deps;
  auto ns = namespace_of(deps.cfg, req.options().ns());
  if (!ns) return ns.error();
  if (req.key().empty()) return make_error(errc::invalid_argument, "empty key");
  auto snap = deps.view->current();
  msg::ExplainReply reply;
  reply.set_ns((*ns)->name);
  reply.set_key(req.key());
  reply.set_partition(cluster::partitioner{deps.cfg.partitions}.of((*ns)->name, req.key()));
  reply.set_n((*ns)->n);
  msg::ReplicaReadRequest read;
  read.set_partition(reply.partition());
  read.set_ns(reply.ns());
  read.set_key(req.key());
  auto order = snap->ring->preference_list(reply.partition(), reply.n());
  auto preferred = order.size();
  if (req.everywhere())  // then every other member, in ring order
    for (uint32_t m = 0; m < snap->ring->members().size(); ++m)
      if (std::find(order.begin(), order.end(), m) == order.end()) order.push_back(m);
  auto pending = std::make_shared<size_t>(order.size());
  auto promise = self->make_response_promise<msg::ExplainReply>();
  auto out = std::make_shared<msg::ExplainReply>(std::move(reply));
  auto done = [promise, out, pending]() mutable {
    if (--*pending == 0) promise.deliver(*out);
  };
  for (auto m : order) {
    auto* view = out->add_replicas();
    *view->mutable_member() = member_of(*snap, m);
    view->set_preferred(static_cast<size_t>(out->replicas_size()) <= preferred);
    replica_api target;
    if (m == snap->self)
      target = deps.reg->get_as<replica_actor>(replica_role(
          replica_index(out->partition(), deps.cfg.partitions, deps.cfg.replica_actors)));
    else if (snap->peers[m].up)
      target = snap->peers[m].link;
    if (!target) {
      view->set_error("unreachable");
      done();
      continue;
    }
    auto index = out->replicas_size() - 1;
    self->request(target, deps.cfg.default_timeout, read)
        .then(
            [out, index, done](msg::ReplicaReadReply& r) mutable {
              auto* v = out->mutable_replicas(index);
              v->set_reachable(true);
              if (r.has_object()) *v->mutable_object() = std::move(*r.mutable_object());
              done();
            },
            [out, index, done](caf::error& err) mutable {
              out->mutable_replicas(index)->set_error(describe(err));
              done();
            });
  }
  if (order.empty()) promise.deliver(*out);
  return promise;
}

admin_actor::behavior_type node(node_pointer self, supervisor_deps deps, supervisor_actor sup) {
  shield(self, "node");
  self->state.deps = std::move(deps);
  self->state.sup = std::move(sup);
  return {
      [self](const msg::StatusRequest&) { return status(self); },
      [self](const msg::FailActorRequest& req) { return fail_actor(self, req); },
      [self](const msg::RingRequest& req) { return ring(self, req); },
      [self](const msg::ExplainRequest& req) { return explain(self, req); },
  };
}

}  // namespace

admin_actor spawn_node(caf::local_actor* parent, supervisor_deps deps, supervisor_actor sup) {
  return parent->spawn(node, std::move(deps), std::move(sup));
}

namespace {

// -- process lifecycle ------------------------------------------------------------------------

void configure_system(caf::actor_system_config& sys_cfg, const node_config& cfg) {
  register_types(sys_cfg);
  sys_cfg.load<caf::io::middleman>();
  sys_cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.scheduler_threads));
  sys_cfg.set("scheduler.policy", cfg.work_stealing ? caf::atom("stealing") : caf::atom("sharing"));
  sys_cfg.set("middleman.workers", static_cast<size_t>(cfg.middleman_workers));
  sys_cfg.set("middleman.heartbeat-interval", caf::timespan{cfg.heartbeat_interval});
  sys_cfg.set("middleman.connection-timeout", caf::timespan{cfg.connection_timeout});
  sys_cfg.set("logger.verbosity", caf::atom("quiet"));
}

// Signals arrive in one thread of ours (they are blocked everywhere else) and become an exit
// message to the supervisor.
class signal_watch {
 public:
  signal_watch() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  ~signal_watch() { stop(); }

  // Stops watching; the thread holds an actor handle, so this runs before the actor system
  // goes away.
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // `on_hangup` runs in the watching thread on SIGHUP.
  void start(supervisor_actor sup, std::function<void()> on_hangup) {
    thread_ = std::thread{[this, sup, on_hangup] {
      timespec tick{0, 200 * 1000 * 1000};
      while (!done_) {
        int sig = sigtimedwait(&set_, nullptr, &tick);
        if (sig == SIGHUP) {
          log::get("node")->info("SignalReceived signal=HUP");
          if (on_hangup) on_hangup();
        } else if (sig == SIGTERM || sig == SIGINT) {
          log::get("node")->info("SignalReceived signal={}", sig == SIGTERM ? "TERM" : "INT");
          caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
        }
      }
    }};
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The node's three listeners.
struct listeners {
  std::shared_ptr<port_guard> peer;
  std::shared_ptr<std::atomic<uint64_t>> peer_refused = std::make_shared<std::atomic<uint64_t>>(0);
  door_handle client;
  door_handle admin;
};

// GET /metrics: the node's counters plus what the engine and the listeners report.
std::string render_metrics(const node_metrics& metrics, storage::engine& db, const listeners& doors,
                           int64_t started_ms, const wall_clock& now_ms) {
  std::string out;
  metrics.render(out);
  auto stats = db.stats();
  auto disk = db.disk();
  auto peer = doors.peer->stats();
  auto& client = *doors.client.counters;
  auto& admin = *doors.admin.counters;
  auto count = [](const std::atomic<uint64_t>& x) { return static_cast<double>(x.load()); };
  render_value(out, "ringkv_storage_writes_total", "counter", "Objects written to RocksDB.",
               static_cast<double>(stats.writes));
  render_value(out, "ringkv_storage_commits_total", "counter", "WriteBatch commits.",
               static_cast<double>(stats.commits));
  render_value(out, "ringkv_storage_synced_commits_total", "counter",
               "Commits that asked for an fsync of the WAL.",
               static_cast<double>(stats.synced_commits));
  render_value(out, "ringkv_storage_wal_syncs_total", "counter",
               "WAL fsyncs done; concurrent synced commits share one.",
               static_cast<double>(stats.wal_syncs));
  render_value(out, "ringkv_storage_live_bytes", "gauge", "Estimated live data.",
               static_cast<double>(db.live_data_bytes()));
  render_value(out, "ringkv_storage_keys", "gauge", "Estimated keys.",
               static_cast<double>(db.estimated_keys(storage::column::data)));
  render_value(out, "ringkv_block_cache_bytes", "gauge", "Block cache in use.",
               static_cast<double>(db.block_cache_usage()));
  render_value(out, "ringkv_disk_free_bytes", "gauge",
               "Free space of the data directory's filesystem, at the last probe.",
               static_cast<double>(disk.free_bytes));
  render_value(out, "ringkv_disk_reserve_bytes", "gauge",
               "Free space kept in reserve (disk_reserve_mb); 0: none.",
               static_cast<double>(disk.reserve_bytes));
  render_value(out, "ringkv_disk_short", "gauge",
               "1 while writes are refused for want of disk space, else 0.",
               disk.short_of_space ? 1.0 : 0.0);
  render_value(out, "ringkv_writes_refused_disk_total", "counter",
               "Writes refused UNAVAILABLE because the disk was short.",
               static_cast<double>(disk.refused_writes));
  render_labeled(out, "ringkv_connections_accepted_total", "counter",
                 "Connections accepted, by listener.", "listener",
                 {{"client", count(client.accepted)},
                  {"peer", static_cast<double>(peer.accepted)},
                  {"admin", count(admin.accepted)}});
  render_labeled(out, "ringkv_connections_rejected_total", "counter",
                 "Connections the node closed: bad frames, too slow, idle, over the limit.",
                 "listener",
                 {{"client", count(client.closed)},
                  {"peer", static_cast<double>(peer.rejected)},
                  {"admin", count(admin.closed)}});
  render_labeled(out, "ringkv_listener_refused_total", "counter",
                 "Requests a listener refused because they are not its callers' (an operator "
                 "verb on the client listener, a client call on the peer listener, ...).",
                 "listener",
                 {{"client", count(client.refused)},
                  {"peer", count(*doors.peer_refused)},
                  {"admin", count(admin.refused)}});
  render_labeled(out, "ringkv_listener_requests_total", "counter",
                 "Requests answered on the client and admin listeners, errors included.",
                 "listener",
                 {{"client", count(client.requests)}, {"admin", count(admin.requests)}});
  render_value(out, "ringkv_messages_refused_total", "counter",
               "Messages from the network refused before delivery: malformed, or a batch of "
               "more than 1024 items.",
               static_cast<double>(messages_refused()));
  render_value(out, "ringkv_uptime_seconds", "gauge", "Seconds since the node started.",
               (now_ms() - started_ms) / 1000.0);
  return out;
}

// The view before gossip has run: this node alone; complete when it has no seeds.
caf::expected<std::shared_ptr<const cluster_snapshot>> initial_view(const node_config& cfg) {
  auto self = self_entry(cfg, 0);
  auto alone = single_node(self.spec, self.address, ring_options_of(cfg));
  if (!alone) return alone.error();
  auto snap = std::make_shared<cluster_snapshot>(**alone);
  for (auto& seed : cfg.seeds)
    if (to_string(seed) != self.address) snap->complete = false;
  return std::shared_ptr<const cluster_snapshot>{std::move(snap)};
}

// Runs until the supervisor terminates, sweeping the port guard and calling `tick` (which
// announces readiness once gossip has settled the view) a few times a second. A dead front means
// the node no longer serves: it stops the tree, so the process exits and is restarted.
template <class Tick>
caf::error serve(caf::actor_system& sys, const supervisor_actor& sup, const node_actor& face,
                 const listeners& doors, Tick& tick) {
  caf::scoped_actor self{sys};
  self->monitor(sup);
  self->monitor(face);
  caf::error reason;
  bool running = true;
  uint64_t ticks = 0;
  // The supervisor starts and registers its children when it first runs, on a worker thread:
  // until it answers, a request could find no coordinator or node actor, so nothing is ready.
  // No timeout (CAF-0.17-NOTES: it would come later as a stray message); a dead supervisor
  // answers with an error at once.
  self->request(sup, caf::infinite, msg::SupervisorStatusRequest{})
      .receive([](msg::SupervisorStatusReply&) {}, [&](caf::error& err) { reason = err; });
  if (reason) return reason;
  tick();
  while (running) {
    self->receive(
        [&](caf::down_msg& dm) {
          if (dm.source == face.address()) {
            log::get("node")->error("PortFrontDied reason=\"{}\"", describe(dm.reason));
            caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
            reason = make_error(errc::internal, "the port's front actor died");
          } else {
            if (!reason) reason = std::move(dm.reason);
            running = false;
          }
        },
        caf::after(std::chrono::milliseconds(100)) >>
            [&] {
              tick();
              if (++ticks % 5 == 0) doors.peer->sweep();
            });
  }
  return reason;
}

// What the node's listeners check (docs/security.md): TLS contexts, the ACL, the audit log.
struct security {
  std::shared_ptr<tls_context> peer_server;  // the peer door: node certificates
  std::shared_ptr<tls_context> peer_client;  // connections to peers: node certificates
  std::shared_ptr<tls_context> door_server;  // client and admin doors, HTTP: client certificates
  std::shared_ptr<acl_holder> acl;
  std::shared_ptr<audit_log> audit;
};

// The HTTP endpoint, when configured. It asks the coordinator and the node actor through `reg`;
// /ready is 200 once `ready` is set (after the ready line) and while the node is not leaving.
// It speaks TLS and checks callers as the client listener does (`sec`).
caf::expected<std::unique_ptr<http_endpoint>> start_http(
    const node_config& cfg, caf::actor_system& sys, std::shared_ptr<const registry> reg,
    std::shared_ptr<const cluster_view> view, std::shared_ptr<const std::atomic<bool>> ready,
    std::shared_ptr<node_metrics> metrics, std::shared_ptr<storage::engine> db,
    std::shared_ptr<listeners> doors, const security& sec) {
  if (cfg.http.empty()) return std::unique_ptr<http_endpoint>{};
  auto at = parse_host_port(cfg.http);
  if (!at) return at.error();
  auto started = cfg.now_ms();
  http_deps deps;
  deps.sys = &sys;
  deps.reg = std::move(reg);
  deps.readiness_now = [view, ready] {
    if (!ready->load()) return readiness::starting;
    return view->current()->leaving ? readiness::leaving : readiness::serving;
  };
  deps.metrics = [metrics, db, doors, started, now_ms = cfg.now_ms] {
    return render_metrics(*metrics, *db, *doors, started, now_ms);
  };
  deps.limits.max_key_bytes = cfg.max_key_bytes;
  deps.limits.max_body_bytes = cfg.max_value_bytes;
  deps.limits.default_timeout = cfg.default_timeout;
  deps.limits.max_timeout = cfg.max_timeout;
  deps.tls = sec.door_server;
  deps.acl = sec.acl;
  deps.audit = sec.audit;
  return http_endpoint::start(*at, std::move(deps));
}

struct opened_storage {
  std::shared_ptr<storage::engine> db;
  storage::identity id;
  std::shared_ptr<storage::dot_issuer> issuer;
};

// The node's dot issuer: it starts with this incarnation's actor and takes the next
// incarnation, stored in `db`, when a stored context makes that necessary.
std::shared_ptr<storage::dot_issuer> make_issuer(const std::shared_ptr<storage::engine>& db,
                                                 storage::identity id, wall_clock now_ms) {
  auto actor = id.actor;
  auto current = std::make_shared<storage::identity>(std::move(id));
  return std::make_shared<storage::dot_issuer>(
      std::move(actor), [db, current, now_ms]() -> caf::expected<std::string> {
        if (auto err = storage::renew_incarnation(*db, *current, now_ms())) return err;
        return current->actor;
      });
}

// DiskShort is a warning, not an error: the node heals by itself once space is freed, but
// only a human frees it.
void log_disk_change(const storage::disk_event& e) {
  static auto logger = log::get("storage");
  auto free = storage::format_bytes(e.free_bytes);
  auto reserve = storage::format_bytes(e.reserve_bytes);
  if (e.short_of_space)
    logger->warn(
        "DiskShort free=\"{}\" reserve=\"{}\" cause=\"{}\" (writes refused UNAVAILABLE, "
        "reads served; free space to resume)",
        free, reserve, e.cause);
  else
    logger->info("DiskRecovered free=\"{}\" reserve=\"{}\"", free, reserve);
}

caf::expected<opened_storage> open_storage(const node_config& cfg) {
  storage::engine_options opts;
  opts.path = cfg.data_dir;
  opts.block_cache_bytes = cfg.block_cache_bytes;
  opts.disk_reserve_bytes = cfg.disk_reserve_bytes;
  opts.on_disk_change = log_disk_change;
  opts.encryption_key_file = cfg.encryption_key;
  auto opened = storage::engine::open(opts);
  if (!opened) return opened.error();
  std::shared_ptr<storage::engine> db{std::move(*opened)};
  auto id = storage::start_incarnation(*db, cfg.node_id, cfg.partitions, cfg.now_ms());
  if (!id) return id.error();
  auto issuer = make_issuer(db, *id, cfg.now_ms);
  return opened_storage{std::move(db), std::move(*id), std::move(issuer)};
}

caf::expected<security> load_security(const node_config& cfg) {
  security out;
  if (!cfg.tls_cert.empty()) {
    tls_files files{cfg.tls_cert, cfg.tls_key, cfg.tls_ca};
    auto peer_server = tls_context::load(files, tls_side::server, cert_kind::node);
    if (!peer_server) return peer_server.error();
    auto peer_client = tls_context::load(files, tls_side::client, cert_kind::node);
    if (!peer_client) return peer_client.error();
    // With an ACL, a client may come without a certificate and present a token in its hello.
    auto door_server =
        tls_context::load(files, tls_side::server, cert_kind::client, !cfg.acl.empty());
    if (!door_server) return door_server.error();
    out.peer_server = std::move(*peer_server);
    out.peer_client = std::move(*peer_client);
    out.door_server = std::move(*door_server);
  }
  if (!cfg.acl.empty()) {
    auto loaded = acl::load(cfg.acl);
    if (!loaded) return loaded.error();
    out.acl = std::make_shared<acl_holder>(std::move(*loaded));
  }
  if (cfg.audit_log != "off") {
    auto path = cfg.audit_log.empty() ? cfg.data_dir + "/audit.log" : cfg.audit_log;
    auto opened = audit_log::open(path, uint64_t{64} << 20, 5, cfg.audit_data);
    if (!opened) return opened.error();
    out.audit = std::move(*opened);
  }
  return out;
}

// SIGHUP: the ACL file again. A bad file is logged and the ACL in force stays.
void reload_acl(const node_config& cfg, const security& sec) {
  auto logger = log::get("node");
  if (!sec.acl) {
    logger->info("AclReload skipped=\"no --acl\"");
    return;
  }
  auto loaded = acl::load(cfg.acl);
  if (!loaded) {
    logger->error("AclReloadFailed file={} err=\"{}\" (the ACL in force stays)", cfg.acl,
                  describe(loaded.error()));
    if (sec.audit)
      sec.audit->record(
          "acl_reload",
          {{"file", cfg.acl}, {"outcome", "failed"}, {"reason", message_of(loaded.error())}});
    return;
  }
  auto principals = loaded->principals().size();
  sec.acl->replace(std::move(*loaded));
  logger->info("AclReloaded file={} principals={}", cfg.acl, principals);
  if (sec.audit)
    sec.audit->record(
        "acl_reload",
        {{"file", cfg.acl}, {"outcome", "reloaded"}, {"principals", std::to_string(principals)}});
}

// The node's actors, port and HTTP endpoint; returns the exit code.
int run_actors(const node_config& cfg, const opened_storage& storage, signal_watch& signals) {
  auto logger = log::get("node");
  caf::actor_system_config sys_cfg;
  configure_system(sys_cfg, cfg);
  caf::actor_system sys{sys_cfg};
  auto reg = std::make_shared<registry>();
  auto metrics = std::make_shared<node_metrics>();
  auto view = std::make_shared<cluster_view>();
  auto initial = initial_view(cfg);
  if (!initial) {  // unreachable: validate(cfg) checks what the ring needs
    logger->error("StartFailed what=ring err=\"{}\"", describe(initial.error()));
    return exit_start_failed;
  }
  view->publish(std::move(*initial));
  auto sec = load_security(cfg);
  if (!sec) {
    logger->error("StartFailed what=security err=\"{}\"", describe(sec.error()));
    return exit_start_failed;
  }
  if (!sec->door_server)
    logger->info(cfg.insecure ? "NoTls: every listener is plain TCP"
                              : "ProtectedMode: no TLS, so every listener is on loopback only "
                                "(docs/security.md)");
  if (cfg.insecure && !secured(cfg))
    logger->warn(
        "InsecureMode: --insecure without TLS and an ACL; anyone who reaches the listeners may "
        "read, write and administer this node");
  std::shared_ptr<peer_access> peers;
  if (sec->peer_client) {
    peers = std::make_shared<peer_access>();
    peers->directory = std::make_shared<tls_directory>();
    peers->connector = spawn_tls_middleman(sys, sec->peer_client, peers->directory);
  }
  auto sup = spawn_supervisor(sys, {cfg, storage.db, reg, storage.issuer, metrics, cfg.now_ms(),
                                    view, storage.id.epoch, peers, sec->audit});
  auto doors = std::make_shared<listeners>();
  auto face = spawn_front(sys, reg, cfg, doors->peer_refused, metrics);
  auto stop = [&](int code) {
    signals.stop();
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(face, caf::exit_reason::user_shutdown);
    if (peers) caf::anon_send_exit(peers->connector, caf::exit_reason::user_shutdown);
    for (auto* door : {&doors->client, &doors->admin})
      if (door->broker) caf::anon_send_exit(door->broker, caf::exit_reason::user_shutdown);
    return code;
  };
  for (auto [kind, at, out] : {std::tuple{door::client, cfg.listen, &doors->client},
                               std::tuple{door::admin, cfg.admin_listen, &doors->admin}}) {
    door_config door_cfg;
    door_cfg.kind = kind;
    door_cfg.at = at;
    door_cfg.node_id = cfg.node_id;
    door_cfg.max_frame_bytes = static_cast<uint32_t>(cfg.max_frame_bytes);
    door_cfg.handshake_timeout = cfg.handshake_timeout;
    door_cfg.frame_timeout = cfg.frame_timeout;
    door_cfg.idle_timeout = cfg.client_idle_timeout;
    door_cfg.max_in_flight = cfg.max_in_flight;
    door_cfg.max_connections = cfg.max_connections;
    door_cfg.tls = sec->door_server;
    door_cfg.acl = sec->acl;
    door_cfg.audit = sec->audit;
    door_cfg.chaos = cfg.chaos;
    auto opened = open_door(sys, reg, door_cfg);
    if (!opened) {
      logger->error("StartFailed what={} err=\"{}\"",
                    kind == door::client ? "listen" : "admin-listen", describe(opened.error()));
      return stop(exit_start_failed);
    }
    *out = std::move(*opened);
  }
  port_guard_config guard_cfg;
  guard_cfg.max_frame_bytes = cfg.max_frame_bytes;
  guard_cfg.handshake_timeout = cfg.handshake_timeout;
  guard_cfg.frame_timeout = cfg.frame_timeout;
  guard_cfg.max_connections = cfg.max_connections;
  guard_cfg.tls = sec->peer_server;
  guard_cfg.directory = peers ? peers->directory : nullptr;
  if (sec->audit)
    guard_cfg.on_refused = [audit = sec->audit](const std::string& peer, const std::string& why) {
      audit->record("connection_refused", {{"door", "peer"}, {"peer", peer}, {"reason", why}});
    };
  auto peer = port_guard::publish(sys, caf::actor_cast<caf::strong_actor_ptr>(face),
                                  sys.message_types(face), cfg.peer_listen, guard_cfg);
  if (!peer) {
    logger->error("StartFailed what=peer-listen err=\"{}\"", describe(peer.error()));
    return stop(exit_start_failed);
  }
  doors->peer = std::move(*peer);
  auto ready = std::make_shared<std::atomic<bool>>(false);
  auto http = start_http(cfg, sys, reg, view, ready, metrics, storage.db, doors, *sec);
  if (!http) {
    logger->error("StartFailed what=http err=\"{}\"", describe(http.error()));
    return stop(exit_start_failed);
  }
  auto announce = [&, announced = false]() mutable {
    if (announced || !view->current()->complete) return;
    announced = true;
    auto snap = view->current();
    logger->info(
        "NodeReady id={} listen={} peer_listen={} admin_listen={} actor={} data_dir={} sync={} "
        "new_data={} members={}",
        cfg.node_id, to_string(cfg.listen), to_string(cfg.peer_listen), to_string(cfg.admin_listen),
        storage.id.actor, cfg.data_dir, cfg.sync ? "always" : "none", storage.id.created,
        snap->peers.size());
    std::cout << "ready " << cfg.node_id << " " << to_string(cfg.listen) << std::endl;
    ready->store(true);
  };
  signals.start(sup, [&cfg, sec = *sec] { reload_acl(cfg, sec); });
  auto reason = serve(sys, sup, face, *doors, announce);
  int code = exit_ok;
  if (reason != caf::exit_reason::user_shutdown) {
    logger->error("NodeStopping reason=\"{}\"", describe(reason));
    code = exit_sick;
  }
  return stop(code);
}

}  // namespace

int run_node(node_config cfg) {
  log::init(cfg.log_level);
  signal_watch signals;  // before any thread starts, so that all of them block the signals
  auto storage = open_storage(cfg);
  if (!storage) {
    log::get("node")->error("StartFailed what=storage err=\"{}\"", describe(storage.error()));
    return exit_start_failed;
  }
  auto code = run_actors(cfg, *storage, signals);
  log::get("node")->info("NodeStopped id={} code={}", cfg.node_id, code);
  return code;
}

}  // namespace kv::actors
