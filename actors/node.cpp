#include "actors/node.hpp"

#include <csignal>
#include <iostream>
#include <thread>

#include "actors/guarded_port.hpp"
#include "actors/http.hpp"
#include "actors/interfaces.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/registry.hpp"
#include "actors/shield.hpp"
#include "actors/supervisor.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "messages/errc.hpp"
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

msg::StatusReply describe_node(const supervisor_deps& info) {
  auto& cfg = info.cfg;
  msg::StatusReply reply;
  reply.set_node_id(cfg.node_id);
  reply.set_address(to_string(cfg.listen));
  reply.set_version(KV_VERSION);
  reply.set_uptime_ms(cfg.now_ms() - info.started_ms);
  reply.set_partitions(cfg.partitions);
  reply.set_sync(cfg.sync);
  reply.set_epoch(info.actor);
  for (auto& [name, ns] : cfg.namespaces) reply.add_namespaces(name);
  auto* self_member = reply.add_members();
  self_member->set_id(cfg.node_id);
  self_member->set_address(to_string(cfg.listen));
  self_member->set_state(msg::MEMBER_UP);
  self_member->set_rack(cfg.rack);
  self_member->set_datacenter(cfg.datacenter);
  self_member->set_weight(cfg.weight);
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

caf::result<msg::StatusReply> status(node_pointer self) {
  auto promise = self->make_response_promise<msg::StatusReply>();
  auto reply = describe_node(self->state.deps);
  self->request(self->state.sup, caf::infinite, msg::SupervisorStatusRequest{})
      .then(
          [promise, reply](msg::SupervisorStatusReply& tree) mutable {
            reply.mutable_actors()->Swap(tree.mutable_actors());
            promise.deliver(std::move(reply));
          },
          [promise, reply](caf::error&) mutable { promise.deliver(std::move(reply)); });
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

admin_actor::behavior_type node(node_pointer self, supervisor_deps deps, supervisor_actor sup) {
  shield(self, "node");
  self->state.deps = std::move(deps);
  self->state.sup = std::move(sup);
  return {
      [self](const msg::StatusRequest&) { return status(self); },
      [self](const msg::FailActorRequest& req) { return fail_actor(self, req); },
  };
}

// -- the port's front --------------------------------------------------------------------------

// Delegates `req` to the actor registered as `role`, which answers the client directly.
template <class Reply, class Handle, class Request>
caf::result<Reply> route(node_actor::pointer self, const registry& reg, const char* role,
                         Request& req) {
  auto target = reg.get_as<Handle>(role);
  if (!target)
    return make_error(errc::unavailable, std::string{"the "} + role + " actor is restarting");
  return self->delegate(target, std::move(req));
}

node_actor::behavior_type front(node_actor::pointer self, std::shared_ptr<registry> reg) {
  shield(self, "port");
  return {
      [self, reg](msg::PutRequest& req) {
        return route<msg::PutReply, coordinator_actor>(self, *reg, "coordinator", req);
      },
      [self, reg](msg::GetRequest& req) {
        return route<msg::GetReply, coordinator_actor>(self, *reg, "coordinator", req);
      },
      [self, reg](msg::DeleteRequest& req) {
        return route<msg::DeleteReply, coordinator_actor>(self, *reg, "coordinator", req);
      },
      [self, reg](msg::StatusRequest& req) {
        return route<msg::StatusReply, admin_actor>(self, *reg, "node", req);
      },
      [self, reg](msg::FailActorRequest& req) {
        return route<msg::FailActorReply, admin_actor>(self, *reg, "node", req);
      },
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
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  ~signal_watch() { stop(); }

  // Stops watching; the thread holds an actor handle, so this runs before the actor system
  // goes away.
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }

  void start(supervisor_actor sup) {
    thread_ = std::thread{[this, sup] {
      timespec tick{0, 200 * 1000 * 1000};
      while (!done_) {
        int sig = sigtimedwait(&set_, nullptr, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
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

// GET /metrics: the node's counters plus what the engine and the port guard report.
std::string render_metrics(const node_metrics& metrics, const storage::engine& db,
                           const port_guard& guard, int64_t started_ms, const wall_clock& now_ms) {
  std::string out;
  metrics.render(out);
  auto stats = db.stats();
  auto guard_stats = guard.stats();
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
  render_value(out, "ringkv_connections_accepted_total", "counter", "Connections accepted.",
               static_cast<double>(guard_stats.accepted));
  render_value(out, "ringkv_connections_rejected_total", "counter",
               "Connections closed by the port guard (bad frames, too slow).",
               static_cast<double>(guard_stats.rejected));
  render_value(out, "ringkv_uptime_seconds", "gauge", "Seconds since the node started.",
               (now_ms() - started_ms) / 1000.0);
  return out;
}

// Runs until the supervisor terminates, sweeping the port guard twice a second. A dead front
// means the node no longer serves: it stops the tree, so the process exits and is restarted.
caf::error serve(caf::actor_system& sys, const supervisor_actor& sup, const node_actor& face,
                 port_guard& guard) {
  caf::scoped_actor self{sys};
  self->monitor(sup);
  self->monitor(face);
  caf::error reason;
  bool running = true;
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
        caf::after(std::chrono::milliseconds(500)) >> [&] { guard.sweep(); });
  }
  return reason;
}

// The HTTP endpoint, when configured.
caf::expected<std::unique_ptr<http_endpoint>> start_http(const node_config& cfg,
                                                         std::shared_ptr<node_metrics> metrics,
                                                         std::shared_ptr<storage::engine> db,
                                                         std::shared_ptr<port_guard> guard) {
  if (cfg.http.empty()) return std::unique_ptr<http_endpoint>{};
  auto at = parse_host_port(cfg.http);
  if (!at) return at.error();
  auto started = cfg.now_ms();
  return http_endpoint::start(*at, [metrics, db, guard, started, now_ms = cfg.now_ms] {
    return render_metrics(*metrics, *db, *guard, started, now_ms);
  });
}

struct opened_storage {
  std::shared_ptr<storage::engine> db;
  storage::identity id;
};

caf::expected<opened_storage> open_storage(const node_config& cfg) {
  storage::engine_options opts;
  opts.path = cfg.data_dir;
  opts.block_cache_bytes = cfg.block_cache_bytes;
  auto opened = storage::engine::open(opts);
  if (!opened) return opened.error();
  std::shared_ptr<storage::engine> db{std::move(*opened)};
  auto id = storage::start_incarnation(*db, cfg.node_id, cfg.partitions, cfg.now_ms());
  if (!id) return id.error();
  return opened_storage{std::move(db), std::move(*id)};
}

// The node's actors, port and HTTP endpoint; returns the exit code.
int run_actors(const node_config& cfg, const opened_storage& storage, signal_watch& signals) {
  auto logger = log::get("node");
  caf::actor_system_config sys_cfg;
  configure_system(sys_cfg, cfg);
  caf::actor_system sys{sys_cfg};
  auto reg = std::make_shared<registry>();
  auto metrics = std::make_shared<node_metrics>();
  auto sup = spawn_supervisor(sys, {cfg, storage.db, reg, storage.id.actor, metrics, cfg.now_ms()});
  auto face = sys.spawn(front, reg);
  auto stop = [&](int code) {
    signals.stop();
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(face, caf::exit_reason::user_shutdown);
    return code;
  };
  port_guard_config guard_cfg{cfg.max_frame_bytes, cfg.handshake_timeout, cfg.frame_timeout,
                              cfg.max_connections};
  auto guard = port_guard::publish(sys, caf::actor_cast<caf::strong_actor_ptr>(face),
                                   sys.message_types(face), cfg.listen, guard_cfg);
  if (!guard) {
    logger->error("StartFailed what=listen err=\"{}\"", describe(guard.error()));
    return stop(exit_start_failed);
  }
  auto http = start_http(cfg, metrics, storage.db, *guard);
  if (!http) {
    logger->error("StartFailed what=http err=\"{}\"", describe(http.error()));
    return stop(exit_start_failed);
  }
  logger->info("NodeReady id={} listen={} actor={} data_dir={} sync={} new_data={}", cfg.node_id,
               to_string(cfg.listen), storage.id.actor, cfg.data_dir, cfg.sync ? "always" : "none",
               storage.id.created);
  if (!cfg.seeds.empty())
    logger->warn(
        "SeedsNotJoined seeds={} reason=\"this version serves one node; until ring "
        "placement arrives, requests needing more replicas than 1 are UNAVAILABLE\"",
        cfg.seeds.size());
  std::cout << "ready " << cfg.node_id << " " << to_string(cfg.listen) << std::endl;
  signals.start(sup);
  auto reason = serve(sys, sup, face, **guard);
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
