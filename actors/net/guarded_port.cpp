#include "actors/net/guarded_port.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "actors/net/frame_vetter.hpp"
#include "actors/net/tls_scribe.hpp"
#include "actors/node/log.hpp"
#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "caf/io/basp_broker.hpp"
#include "caf/io/network/default_multiplexer.hpp"
#include "caf/io/network/doorman_impl.hpp"
#include "caf/io/network/scribe_impl.hpp"
#include "messages/errc.hpp"

namespace kv::actors {

namespace network = caf::io::network;
using steady = std::chrono::steady_clock;

class guarded_scribe;

// Shared by the guard, its doorman and every connection. `live` is only touched in the
// multiplexer's thread (on accept and in sweeps), so it needs no lock.
struct port_guard::state {
  port_guard_config cfg;
  network::default_multiplexer* mpx = nullptr;
  std::vector<caf::intrusive_ptr<guarded_scribe>> live;
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};
  kv::log::connection_log log{kv::log::get("port")};
};

// One accepted connection. Its frame_vetter tracks BASP framing and vets each header before
// it is handed on.
class guarded_scribe : public tls_scribe {
 public:
  guarded_scribe(network::default_multiplexer& mpx, network::native_socket fd,
                 std::unique_ptr<tls_session> session, std::shared_ptr<port_guard::state> guard)
      : tls_scribe(mpx, fd, std::move(session), guard->cfg.directory, refusal_hook(guard), true),
        guard_(std::move(guard)),
        since_(steady::now()),
        frames_(guard_->cfg.max_frame_bytes) {
    peer_ = addr() + ":" + std::to_string(port());
  }

  bool consume(caf::execution_unit* ctx, const void* buf, size_t size) override {
    if (closed_) return false;
    bool header = !frames_.awaiting_payload();
    if (auto reason = frames_.vet(buf, size)) return reject(reason->c_str());
    if (header && frames_.awaiting_payload()) since_ = steady::now();  // a frame starts
    auto result = tls_scribe::consume(ctx, buf, size);
    if (detached()) {
      // BASP closed the connection while handling this frame: it refused it.
      closed_ = true;
      guard_->rejected.fetch_add(1, std::memory_order_relaxed);
      guard_->log.warn("ConnectionRejected peer={} reason=\"the protocol layer refused {}\"", peer_,
                       frames_.in_handshake() ? "the handshake" : "a frame");
    } else {
      frames_.accepted();
    }
    return result;
  }

  // Called in sweeps: closes the connection when it is past a deadline.
  void check(steady::time_point now) {
    if (closed_ || detached()) return;
    if (!frames_.handshaken() && now - since_ > guard_->cfg.handshake_timeout)
      reject("no complete handshake within the handshake timeout");
    else if (frames_.awaiting_payload() && now - since_ > guard_->cfg.frame_timeout)
      reject("frame not completed within the frame timeout (truncated frame?)");
  }

  // True once the connection is closed. Logs a connection that BASP (or the peer) closed
  // before its handshake or in the middle of a frame: that is the trace of a truncated frame.
  // Refuses a connection BASP has not seen yet.
  void refuse(const std::string& reason) {
    closed_ = true;
    guard_->rejected.fetch_add(1, std::memory_order_relaxed);
    guard_->log.warn("ConnectionRejected peer={} reason=\"{}\"", peer_, reason);
    if (guard_->cfg.on_refused) guard_->cfg.on_refused(peer_, reason);
  }

  bool gone() {
    if (closed_) return true;
    if (!detached()) return false;
    closed_ = true;
    if (!frames_.handshaken() || frames_.awaiting_payload())
      guard_->log.warn(
          "ConnectionLost peer={} reason=\"closed {}\"", peer_,
          frames_.handshaken() ? "in the middle of a frame" : "before completing a handshake");
    return true;
  }

 private:
  // Logs, then detaches from BASP (which cleans up the connection's state); the socket closes
  // when the last reference to this scribe goes.
  bool reject(const char* reason) {
    closed_ = true;
    guard_->rejected.fetch_add(1, std::memory_order_relaxed);
    guard_->log.warn("ConnectionRejected peer={} reason=\"{}\"", peer_, reason);
    if (guard_->cfg.on_refused) guard_->cfg.on_refused(peer_, reason);
    fail();  // the peer sees the close now, not at the next sweep
    return false;
  }

  // A TLS handshake refused (or a BASP node certified as another member): logged and counted
  // like the guard's own refusals.
  static tls_refusal_hook refusal_hook(const std::shared_ptr<port_guard::state>& guard) {
    return [weak = std::weak_ptr<port_guard::state>{guard}](const std::string& peer,
                                                            const std::string& why) {
      auto st = weak.lock();
      if (!st) return;
      st->rejected.fetch_add(1, std::memory_order_relaxed);
      st->log.warn("ConnectionRejected peer={} reason=\"{}\"", peer, why);
      if (st->cfg.on_refused) st->cfg.on_refused(peer, why);
    };
  }

  std::shared_ptr<port_guard::state> guard_;
  std::string peer_;          // "ip:port", kept for logs after the socket is gone
  steady::time_point since_;  // accept time, then start of the current frame
  frame_vetter frames_;
  bool closed_ = false;
};

namespace {

class guarded_doorman : public network::doorman_impl {
 public:
  guarded_doorman(network::default_multiplexer& mpx, network::native_socket fd,
                  std::shared_ptr<port_guard::state> guard)
      : doorman_impl(mpx, fd), guard_(std::move(guard)) {}

  bool new_connection() override {
    if (detached()) return false;
    auto& mpx = acceptor_.backend();
    auto fd = acceptor_.accepted_socket();
    std::unique_ptr<tls_session> session;
    if (guard_->cfg.tls) {
      auto opened = tls_session::open(guard_->cfg.tls, fd);
      if (!opened) {
        guard_->rejected.fetch_add(1, std::memory_order_relaxed);
        guard_->log.warn("ConnectionRejected reason=\"{}\"", message_of(opened.error()));
        network::close_socket(fd);
        return true;
      }
      session = std::move(*opened);
    }
    auto conn = caf::make_counted<guarded_scribe>(mpx, fd, std::move(session), guard_);
    guard_->accepted.fetch_add(1, std::memory_order_relaxed);
    auto& live = guard_->live;
    live.erase(std::remove_if(live.begin(), live.end(), [](auto& c) { return c->gone(); }),
               live.end());
    if (live.size() >= guard_->cfg.max_connections) {
      conn->refuse("too many connections (limit " + std::to_string(guard_->cfg.max_connections) +
                   ")");
      return true;  // the socket closes with `conn`; BASP never sees it
    }
    live.push_back(conn);
    auto hdl = conn->hdl();
    parent()->add_scribe(std::move(conn));
    return doorman::new_connection(&mpx, hdl);
  }

 private:
  std::shared_ptr<port_guard::state> guard_;
};

}  // namespace

caf::expected<std::shared_ptr<port_guard>> port_guard::publish(caf::actor_system& sys,
                                                               caf::strong_actor_ptr whom,
                                                               std::set<std::string> interface,
                                                               const host_port& at,
                                                               port_guard_config cfg) {
  auto& mm = sys.middleman();
  auto* mpx = dynamic_cast<network::default_multiplexer*>(&mm.backend());
  if (mpx == nullptr) return make_error(errc::internal, "the middleman backend is not the default");
  auto fd = network::new_tcp_acceptor_impl(at.port, at.host.c_str(), true);
  if (!fd)
    return make_error(errc::unavailable,
                      "cannot listen on " + to_string(at) + ": " + sys.render(fd.error()));
  auto st = std::make_shared<state>();
  st->cfg = cfg;
  st->mpx = mpx;
  caf::io::doorman_ptr door = caf::make_counted<guarded_doorman>(*mpx, *fd, st);
  auto bound = door->port();
  auto basp = mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  caf::anon_send(basp, caf::publish_atom::value, std::move(door), bound, std::move(whom),
                 std::move(interface));
  return std::shared_ptr<port_guard>{new port_guard(std::move(st), bound)};
}

port_guard_stats port_guard::stats() const {
  return {state_->accepted.load(), state_->rejected.load()};
}

void port_guard::sweep() {
  state_->mpx->dispatch([st = state_] {
    auto now = steady::now();
    for (auto& conn : st->live) conn->check(now);
    auto& live = st->live;
    live.erase(std::remove_if(live.begin(), live.end(), [](auto& c) { return c->gone(); }),
               live.end());
  });
}

}  // namespace kv::actors
