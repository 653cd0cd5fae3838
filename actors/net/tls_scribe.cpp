#include "actors/net/tls_scribe.hpp"

#include <sys/socket.h>

#include "caf/all.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/io/all.hpp"
#include "caf/io/basp/header.hpp"
#include "caf/io/basp_broker.hpp"
#include "caf/io/middleman_actor_impl.hpp"
#include "caf/io/network/default_multiplexer.hpp"
#include "caf/io/network/doorman_impl.hpp"
#include "caf/policy/tcp.hpp"
#include "messages/errc.hpp"

namespace kv::actors {

namespace network = caf::io::network;
using network::rw_state;

// -- tls_directory ----------------------------------------------------------------------------

void tls_directory::connected(caf::io::connection_handle hdl, tls_identity who) {
  std::lock_guard<std::mutex> guard{mutex_};
  connections_[hdl] = std::move(who);
}

void tls_directory::disconnected(caf::io::connection_handle hdl) {
  std::lock_guard<std::mutex> guard{mutex_};
  connections_.erase(hdl);
}

std::optional<tls_identity> tls_directory::at(caf::io::connection_handle hdl) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto i = connections_.find(hdl);
  if (i == connections_.end()) return std::nullopt;
  return i->second;
}

bool tls_directory::certify(const caf::node_id& node, const std::string& member) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto [i, added] = nodes_.try_emplace(node, member, 0);
  if (!added && i->second.first != member) return false;
  ++i->second.second;
  return true;
}

void tls_directory::uncertify(const caf::node_id& node) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto i = nodes_.find(node);
  if (i != nodes_.end() && --i->second.second == 0) nodes_.erase(i);
}

std::optional<std::string> tls_directory::member_of(const caf::node_id& node) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto i = nodes_.find(node);
  if (i == nodes_.end()) return std::nullopt;
  return i->second.first;
}

// -- tls_policy -------------------------------------------------------------------------------

rw_state tls_policy::state_of(tls_io io) {
  switch (io) {
    case tls_io::done:
    case tls_io::again:  // 0 bytes: tried again when the socket is ready
      return rw_state::success;
    case tls_io::closed:
      return rw_state::failure;
    case tls_io::failed:
      owner_->refused(owner_->session_->failure());
      return rw_state::failure;
  }
  return rw_state::failure;
}

rw_state tls_policy::read_some(size_t& result, network::native_socket fd, void* buf, size_t len) {
  auto* session = owner_->session_.get();
  if (session == nullptr) return caf::policy::tcp::read_some(result, fd, buf, len);
  bool before = session->handshaken();
  auto io = session->read(buf, len, result);
  if (!before && session->handshaken()) owner_->handshake_done();
  return state_of(io);
}

rw_state tls_policy::write_some(size_t& result, network::native_socket fd, const void* buf,
                                size_t len) {
  auto* session = owner_->session_.get();
  if (session == nullptr) return caf::policy::tcp::write_some(result, fd, buf, len);
  return state_of(session->write(buf, len, result));
}

bool tls_policy::must_read_more(network::native_socket, size_t) {
  // A record holds more than the layer above asked for: the rest is decrypted inside the
  // session, where the socket's readiness no longer announces it.
  auto* session = owner_->session_.get();
  return session != nullptr && session->pending() > 0;
}

// -- tls_scribe -------------------------------------------------------------------------------

tls_scribe::tls_scribe(network::default_multiplexer& mpx, network::native_socket fd,
                       std::unique_ptr<tls_session> session,
                       std::shared_ptr<tls_directory> directory, tls_refusal_hook on_refused,
                       bool basp)
    : scribe(network::conn_hdl_from_socket(fd)),
      session_(std::move(session)),
      directory_(std::move(directory)),
      on_refused_(std::move(on_refused)),
      basp_(basp),
      stream_(mpx, fd, this) {
  peer_ = addr() + ":" + std::to_string(port());
}

tls_scribe::~tls_scribe() {
  if (!directory_) return;
  if (node_) directory_->uncertify(*node_);
  if (session_ && !basp_) directory_->disconnected(hdl());
}

void tls_scribe::configure_read(caf::io::receive_policy::config config) {
  stream_.configure_read(config);
  if (!launched_) {
    launched_ = true;
    stream_.start(this);
  }
}

void tls_scribe::ack_writes(bool enable) {
  stream_.ack_writes(enable);
}

std::vector<char>& tls_scribe::wr_buf() {
  return stream_.wr_buf();
}

std::vector<char>& tls_scribe::rd_buf() {
  return stream_.rd_buf();
}

void tls_scribe::graceful_shutdown() {
  stream_.graceful_shutdown();
  detach(&stream_.backend(), false);
}

void tls_scribe::flush() {
  // Until the handshake is done, what the layer above wrote waits: the socket would be
  // writable all along, and the multiplexer would spin on it.
  if (session_ && !session_->handshaken()) {
    flush_held_ = true;
    return;
  }
  stream_.flush(this);
}

std::string tls_scribe::addr() const {
  auto x = network::remote_addr_of_fd(stream_.fd());
  return x ? *x : std::string{};
}

uint16_t tls_scribe::port() const {
  auto x = network::remote_port_of_fd(stream_.fd());
  return x ? *x : uint16_t{0};
}

void tls_scribe::add_to_loop() {
  stream_.activate(this);
  // Bytes decrypted before the layer above stopped reading are not announced by the socket.
  if (session_ && session_->pending() > 0)
    stream_.backend().post([self = caf::intrusive_ptr<tls_scribe>{this}] {
      if (!self->detached()) self->stream_.handle_event(network::operation::read);
    });
}

void tls_scribe::remove_from_loop() {
  stream_.passivate();
}

bool tls_scribe::consume(caf::execution_unit* ctx, const void* buf, size_t size) {
  if (basp_ && session_ && !node_ && !certify(buf, size)) {
    fail();
    return false;
  }
  return scribe::consume(ctx, buf, size);
}

bool tls_scribe::certify(const void* buf, size_t size) {
  // A connection's first frame is a BASP handshake; its payload opens with the node id of the
  // other end, which must be certified as the member this connection's certificate names (and
  // as no other member by another connection).
  caf::binary_deserializer source{nullptr, static_cast<const char*>(buf), size};
  if (!handshake_payload_) {
    caf::io::basp::header hdr;
    if (size == caf::io::basp::header_size && !source(hdr) && caf::io::basp::is_handshake(hdr) &&
        hdr.payload_len > 0)
      handshake_payload_ = true;
    return true;  // the frame vetter (or BASP) judges the rest
  }
  handshake_payload_ = false;
  caf::node_id node;
  auto who = session_->peer();
  if (source(node) || !who) return true;  // BASP refuses a malformed handshake itself
  if (directory_ && !directory_->certify(node, who->name)) {
    refused("node " + to_string(node) + " is connected already under another certificate than " +
            who->name + "'s");
    return false;
  }
  node_ = node;
  return true;
}

void tls_scribe::fail() {
  ::shutdown(stream_.fd(), SHUT_RDWR);  // the other side sees the close now
  io_failure(&stream_.backend(), network::operation::read);
}

void tls_scribe::handshake_done() {
  if (directory_ && !basp_)
    if (auto who = session_->peer()) directory_->connected(hdl(), *who);
  if (flush_held_) {
    flush_held_ = false;
    stream_.flush(this);
  }
}

void tls_scribe::refused(const std::string& why) {
  if (refusal_reported_) return;
  refusal_reported_ = true;
  if (on_refused_) on_refused_(peer_, why);
}

// -- accepting and connecting -----------------------------------------------------------------

namespace {

class tls_doorman : public network::doorman_impl {
 public:
  tls_doorman(network::default_multiplexer& mpx, network::native_socket fd,
              std::shared_ptr<tls_context> ctx, std::shared_ptr<tls_directory> directory,
              tls_refusal_hook on_refused)
      : doorman_impl(mpx, fd),
        ctx_(std::move(ctx)),
        directory_(std::move(directory)),
        on_refused_(std::move(on_refused)) {}

  bool new_connection() override {
    if (detached()) return false;
    auto& mpx = acceptor_.backend();
    auto fd = acceptor_.accepted_socket();
    std::unique_ptr<tls_session> session;
    if (ctx_) {
      auto opened = tls_session::open(ctx_, fd);
      if (!opened) {
        if (on_refused_) on_refused_("", message_of(opened.error()));
        network::close_socket(fd);
        return true;
      }
      session = std::move(*opened);
    }
    auto conn =
        caf::make_counted<tls_scribe>(mpx, fd, std::move(session), directory_, on_refused_, false);
    auto hdl = conn->hdl();
    parent()->add_scribe(std::move(conn));
    return doorman::new_connection(&mpx, hdl);
  }

 private:
  std::shared_ptr<tls_context> ctx_;
  std::shared_ptr<tls_directory> directory_;
  tls_refusal_hook on_refused_;
};

class tls_middleman : public caf::io::middleman_actor_impl {
 public:
  tls_middleman(caf::actor_config& cfg, caf::actor basp, std::shared_ptr<tls_context> ctx,
                std::shared_ptr<tls_directory> directory)
      : middleman_actor_impl(cfg, std::move(basp)),
        ctx_(std::move(ctx)),
        directory_(std::move(directory)) {}

  const char* name() const override { return "tls_middleman"; }

 protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host, uint16_t port) override {
    return connect_scribe(multiplexer_of(system()), host, port, ctx_, {}, directory_, true);
  }

 private:
  std::shared_ptr<tls_context> ctx_;
  std::shared_ptr<tls_directory> directory_;
};

}  // namespace

caf::expected<caf::io::doorman_ptr> open_tls_doorman(network::default_multiplexer& mpx,
                                                     const std::string& host, uint16_t port,
                                                     std::shared_ptr<tls_context> ctx,
                                                     std::shared_ptr<tls_directory> directory,
                                                     tls_refusal_hook on_refused) {
  auto fd = network::new_tcp_acceptor_impl(port, host.c_str(), true);
  if (!fd) return std::move(fd.error());
  return caf::io::doorman_ptr{caf::make_counted<tls_doorman>(
      mpx, *fd, std::move(ctx), std::move(directory), std::move(on_refused))};
}

caf::expected<caf::io::scribe_ptr> connect_scribe(network::default_multiplexer& mpx,
                                                  const std::string& host, uint16_t port,
                                                  std::shared_ptr<tls_context> ctx,
                                                  const std::string& verify_host,
                                                  std::shared_ptr<tls_directory> directory,
                                                  bool basp, tls_refusal_hook on_refused) {
  auto fd = network::new_tcp_connection(host, port);
  if (!fd) return std::move(fd.error());
  std::unique_ptr<tls_session> session;
  if (ctx) {
    static_cast<void>(network::nonblocking(*fd, true));  // ignored: the stream sets it again
    auto opened = tls_session::open(std::move(ctx), *fd, verify_host);
    if (!opened) {
      network::close_socket(*fd);
      return std::move(opened.error());
    }
    session = std::move(*opened);
  }
  return caf::io::scribe_ptr{caf::make_counted<tls_scribe>(
      mpx, *fd, std::move(session), std::move(directory), std::move(on_refused), basp)};
}

network::default_multiplexer& multiplexer_of(caf::actor_system& sys) {
  return static_cast<network::default_multiplexer&>(sys.middleman().backend());
}

caf::io::middleman_actor spawn_tls_middleman(caf::actor_system& sys,
                                             std::shared_ptr<tls_context> ctx,
                                             std::shared_ptr<tls_directory> directory) {
  auto basp = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  return sys.spawn<tls_middleman, caf::detached + caf::hidden>(std::move(basp), std::move(ctx),
                                                               std::move(directory));
}

}  // namespace kv::actors
